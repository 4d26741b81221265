package io.distcache.server.resp;

import static io.distcache.server.resp.Args.is;
import static io.distcache.server.resp.Args.key;

import io.distcache.protocol.Frame;
import io.distcache.protocol.KeyOperation;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.resp.CommandTable.Registry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/*
 * Design: RENAME, RENAMENX, COPY, TOUCH and the OBJECT and MEMORY inspections, each one KEY_OP
 * request (cluster/KeyRequests) to the key's owner; two-key commands need both keys in one slot in
 * a cluster with other owners (CROSSSLOT), as in Redis Cluster. TOUCH of several keys sends one
 * request per key, so each reaches its own owner, and adds the answers.
 */

/** Key commands that copy, move or describe an entry. */
final class KeyCopyCommands {
  private KeyCopyCommands() {}

  private static final long TOUCH = KeyOperation.TOUCH;
  private static final long RENAME = KeyOperation.RENAME;
  private static final long RENAMENX = KeyOperation.RENAMENX;
  private static final long COPY = KeyOperation.COPY;
  private static final long ENCODING = KeyOperation.ENCODING;
  private static final long MEMORY_USAGE = KeyOperation.MEMORY_USAGE;
  private static final long FREQ = KeyOperation.FREQ;
  private static final long IDLETIME = KeyOperation.IDLETIME;

  static final String NO_SUCH_KEY = "ERR no such key";
  /** Redis's refusal of OBJECT IDLETIME under an LFU policy. */
  static final String NO_IDLETIME = "ERR An LFU maxmemory policy is selected, idle time not tracked. "
      + "Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
  static final String NO_LFU = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
      + "Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

  static void register(Registry r) {
    r.add("rename", 3, "write", 1, 2, 1, "keyspace", (s, a) -> rename(s, a, false));
    r.add("renamenx", 3, "write fast", 1, 2, 1, "keyspace", (s, a) -> rename(s, a, true));
    r.add("copy", -3, "write denyoom", 1, 2, 1, "keyspace", KeyCopyCommands::copy);
    r.add("touch", -2, "readonly fast", 1, -1, 1, "keyspace", KeyCopyCommands::touch);
    r.addContainer("object", -2, "", "keyspace", null, List.of(
        Registry.sub("encoding", 3, "readonly", "keyspace", KeyCopyCommands::encoding),
        Registry.sub("freq", 3, "readonly", "keyspace", KeyCopyCommands::freq),
        Registry.sub("idletime", 3, "readonly", "keyspace", KeyCopyCommands::idletime),
        Registry.sub("refcount", 3, "readonly", "keyspace", KeyCopyCommands::refcount),
        Registry.sub("help", 2, "loading stale", "keyspace", (s, a) -> ConnectionCommands.helpReply(s, "OBJECT",
            List.of("ENCODING <key>",
                "    Return the kind of internal representation used in order to store the value",
                "    associated with a <key>.",
                "FREQ <key>",
                "    Return the access frequency index of the <key>. The returned integer is",
                "    proportional to the logarithm of the recent access frequency of the key.",
                "IDLETIME <key>",
                "    Return the idle time of the <key>, that is the approximated number of",
                "    seconds elapsed since the last access to the key.",
                "REFCOUNT <key>",
                "    Return the number of references of the value associated with the specified",
                "    <key>.",
                "HELP",
                "    Print this help.")))));
    r.addContainer("memory", -2, "", "server", null, List.of(
        Registry.sub("usage", -3, "readonly", "server", KeyCopyCommands::memoryUsage),
        Registry.sub("help", 2, "loading stale", "server", (s, a) -> ConnectionCommands.helpReply(s, "MEMORY",
            List.of("USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
                "HELP",
                "    Print this help.")))));
  }

  private static void rename(RespSession s, byte[][] a, boolean nx) {
    byte[] source = key(a[1]);
    byte[] target = key(a[2]);
    s.route(Frame.request(Opcode.KEY_OP, 0, source, target, nx ? RENAMENX : RENAME), (r, w) -> {
      if (StringCommands.failed(r, w)) {
        return;
      }
      if (r.status() == Status.NOT_FOUND) {
        w.error(NO_SUCH_KEY);
      } else if (nx) {
        w.integer(r.extra(0, 0));
      } else {
        w.ok();
      }
    });
  }

  private static void copy(RespSession s, byte[][] a) {
    byte[] source = key(a[1]);
    byte[] target = key(a[2]);
    boolean replace = false;
    for (int i = 3; i < a.length; i++) {
      if (is(a[i], "replace")) {
        replace = true;
      } else if (is(a[i], "db") && i + 1 < a.length) {
        long db = Args.parseLong(a[++i]);
        if (db != 0) {
          throw new CommandException(RespErrors.DB_OUT_OF_RANGE);
        }
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    if (java.util.Arrays.equals(source, target)) {
      throw new CommandException("ERR source and destination objects are the same");
    }
    s.route(Frame.request(Opcode.KEY_OP, 0, source, target, COPY, replace ? 1 : 0), StringCommands::firstExtra);
  }

  private static void touch(RespSession s, byte[][] a) {
    List<CompletableFuture<Frame>> parts = new ArrayList<>(a.length - 1);
    for (int i = 1; i < a.length; i++) {
      parts.add(s.send(Frame.request(Opcode.KEY_OP, 0, key(a[i]), null, TOUCH)));
    }
    s.await(CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0])).thenApply(ignored -> parts.get(0).join()),
        (first, w) -> {
          long touched = 0;
          for (CompletableFuture<Frame> part : parts) {
            Frame r = part.join();
            if (r.status().isError()) {
              w.error(RespErrors.fromStatus(r, false));
              return;
            }
            touched += r.extra(0, 0);
          }
          w.integer(touched);
        });
  }

  private static void encoding(RespSession s, byte[][] a) {
    s.route(Frame.request(Opcode.KEY_OP, 0, key(a[2]), null, ENCODING), (r, w) -> {
      if (!StringCommands.failed(r, w)) {
        if (r.status() == Status.OK) {
          w.bulk(r.value());
        } else {
          w.nil();
        }
      }
    });
  }

  /**
   * The key's LFU counter from its owner (not counted as a use); Redis answers null for a missing
   * key, and the LFU error for a present one when the policy is not an LFU one.
   */
  private static void freq(RespSession s, byte[][] a) {
    s.route(Frame.request(Opcode.KEY_OP, 0, key(a[2]), null, FREQ), (r, w) -> {
      if (!StringCommands.failed(r, w)) {
        if (r.status() != Status.OK) {
          w.nil();
        } else if (r.extra(0, -1) < 0) {
          w.error(NO_LFU);
        } else {
          w.integer(r.extra(0, 0));
        }
      }
    });
  }

  /**
   * Seconds since the key's last use, from its owner (asking is not a use); nil for a missing key,
   * Redis's error under an LFU policy.
   */
  private static void idletime(RespSession s, byte[][] a) {
    s.route(Frame.request(Opcode.KEY_OP, 0, key(a[2]), null, IDLETIME), (r, w) -> {
      if (!StringCommands.failed(r, w)) {
        if (r.status() != Status.OK) {
          w.nil();
        } else if (r.extra(0, -1) < 0) {
          w.error(NO_IDLETIME);
        } else {
          w.integer(r.extra(0, 0));
        }
      }
    });
  }

  /** Values are never shared between keys: 1 for a present key. */
  private static void refcount(RespSession s, byte[][] a) {
    s.route(Frame.request(Opcode.EXISTS, key(a[2])), (r, w) -> {
      if (!StringCommands.failed(r, w)) {
        if (r.status() == Status.OK) {
          w.integer(1);
        } else {
          w.nil();
        }
      }
    });
  }

  private static void memoryUsage(RespSession s, byte[][] a) {
    byte[] key = key(a[2]);
    for (int i = 3; i < a.length; i++) {
      if (is(a[i], "samples") && i + 1 < a.length) {
        if (Args.parseLong(a[++i]) < 0) {
          throw new CommandException(RespErrors.SYNTAX);
        }
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    s.route(Frame.request(Opcode.KEY_OP, 0, key, null, MEMORY_USAGE), (r, w) -> {
      if (!StringCommands.failed(r, w)) {
        if (r.status() == Status.OK) {
          w.integer(r.extra(0, 0));
        } else {
          w.nil();
        }
      }
    });
  }
}
