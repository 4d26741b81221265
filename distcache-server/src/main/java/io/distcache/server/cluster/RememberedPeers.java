package io.distcache.server.cluster;

import io.distcache.protocol.cluster.Address;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the addresses of the other members, kept in a small text file so that a node restarted
 * with the same flags finds its cluster again, including one that was started without -join (the
 * README's first node). Without it such a node cannot tell a restart from a new cluster: it
 * founded a one-node cluster at once, acknowledged writes alone until its old cluster dialled it,
 * and those writes were undone when it learned its share back (a tester lost 2,593 SETs). Redis
 * Cluster keeps the same kind of memory in nodes.conf.
 *
 * What is kept: the host:port of every member this node knows that owns or learns keys (ALIVE or
 * SUSPECT), itself excluded, one per line; rewritten (a temporary file, then a rename, so a crash
 * never leaves half a file) only when that set changes, from the membership loop. A member
 * declared dead or gone leaves the file with its next rewrite. Nothing else (no ids, no slots, no
 * secret): the file only says where to look, and whoever answers there must still pass the bus's
 * handshake and the join protocol.
 *
 * The file is read once, at start, and treated as hostile like any input: at most MAX_BYTES and
 * MAX_PEERS, a line that is not host:port is skipped with a warning. A file that cannot be
 * written (a read-only file system) costs one warning, not a failure: the node serves as before.
 */

/** The other members' addresses, remembered in a file across restarts. */
public final class RememberedPeers {
  private static final Logger log = LoggerFactory.getLogger(RememberedPeers.class);
  /** Far above MAX_PEERS lines of the longest address, so a real file always fits. */
  static final int MAX_BYTES = 64 * 1024;
  static final int MAX_PEERS = 256;

  private final Path file;
  /** Guarded by this: what the file holds now, as far as this node knows; null before the first save. */
  private Set<Address> saved;
  /** Guarded by this. */
  private boolean warnedWrite;

  public RememberedPeers(Path file) {
    this.file = file.toAbsolutePath();
  }

  public Path file() {
    return file;
  }

  /** The remembered addresses, {@code self} left out; empty when there is no file. */
  public synchronized List<Address> load(Address self) {
    byte[] bytes;
    try {
      long size = Files.size(file);
      if (size > MAX_BYTES) {
        log.warn("ignoring {}: {} bytes is over the limit of {} for a peers file", file, size, MAX_BYTES);
        return List.of();
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException absent) {
      return List.of();
    } catch (IOException e) {
      log.warn("cannot read the peers file {}: {}", file, e.toString());
      return List.of();
    }
    if (bytes.length > MAX_BYTES) { // grew between the size check and the read
      log.warn("ignoring {}: over the limit of {} bytes for a peers file", file, MAX_BYTES);
      return List.of();
    }
    Set<Address> out = new LinkedHashSet<>();
    int lineNo = 0;
    for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n", -1)) {
      lineNo++;
      String s = line.strip();
      if (s.isEmpty() || s.startsWith("#")) {
        continue;
      }
      if (out.size() == MAX_PEERS) {
        log.warn("{}: only the first {} addresses are used", file, MAX_PEERS);
        break;
      }
      try {
        Address a = Address.parse(s);
        if (!a.equals(self)) {
          out.add(a);
        }
      } catch (IllegalArgumentException e) {
        log.warn("{} line {}: skipped, {}", file, lineNo, e.getMessage());
      }
    }
    saved = Set.copyOf(out);
    return List.copyOf(out);
  }

  /** Remembers exactly {@code peers} (rewriting the file only when they changed). */
  public synchronized void save(Collection<Address> peers) {
    Set<Address> now = new LinkedHashSet<>(peers);
    if (now.equals(saved)) {
      return;
    }
    StringBuilder text = new StringBuilder("# distcache: the other members this node last knew, read when it restarts\n");
    int n = 0;
    for (Address a : now) {
      if (n++ == MAX_PEERS) {
        break;
      }
      text.append(a).append('\n');
    }
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try {
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
      saved = Set.copyOf(now);
      warnedWrite = false;
    } catch (IOException e) {
      if (!warnedWrite) {
        warnedWrite = true;
        log.warn("cannot write the peers file {} ({}): a restart of this node will not find its cluster by itself;"
            + " restart it with -join", file, e.toString());
      }
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // the next save overwrites it
      }
    }
  }
}
