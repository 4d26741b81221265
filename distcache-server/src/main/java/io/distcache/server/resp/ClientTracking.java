package io.distcache.server.resp;

import io.distcache.server.tracking.TrackingTable;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/*
 * Design: one Redis connection's CLIENT TRACKING state (Redis's CLIENT_TRACKING_* flags). Options
 * are written on the connection's event loop by CLIENT TRACKING and read from any thread by the
 * table when a key changes, hence volatile; a change of options re-registers the connection with
 * the table as a new Reader snapshot is not needed because the table reads them live.
 *
 * What a command reads is remembered before the command runs (TrackingTable explains why that
 * order is safe): RespSession calls beforeCommand from the dispatcher once the command is known.
 * Keys are the spec's key positions of a "readonly" command, as Redis's trackingRememberKeys takes
 * them from the command's key specs. OPTIN and OPTOUT follow Redis: CLIENT CACHING YES (or NO)
 * applies to the next command only.
 */

/** A Redis connection's client-side caching (CLIENT TRACKING) state. */
final class ClientTracking implements TrackingTable.Reader {
  private final RespSession session;
  private final long id;

  volatile boolean bcast;
  volatile boolean optin;
  volatile boolean optout;
  volatile boolean noloop;
  /** CLIENT TRACKING ... REDIRECT id; 0 for none. */
  volatile long redirect;
  /** The connection of {@link #redirect}, looked up when tracking was turned on. */
  volatile InvalidationOutbox redirectTo;
  volatile boolean brokenRedirect;
  /** BCAST's prefixes; null when not in BCAST mode. */
  volatile List<byte[]> prefixes;
  /** Bytes of {@link #prefixes} as taken from the node's budget (TrackingCommands.MAX_PREFIX_BYTES). */
  long prefixBytes;
  // Event loop only.
  boolean on;
  /** CLIENT CACHING YES (in OPTIN) or NO (in OPTOUT) applies to the next command. */
  boolean caching;
  /** The current command is CLIENT CACHING itself: its flag survives until the next one. */
  boolean cachingJustSet;

  ClientTracking(RespSession session, long id) {
    this.session = session;
    this.id = id;
  }

  @Override
  public long id() {
    return id;
  }

  @Override
  public boolean noLoop() {
    return noloop;
  }

  @Override
  public List<byte[]> prefixes() {
    return prefixes;
  }

  @Override
  public void invalidate(List<byte[]> keys) {
    long to = redirect;
    if (to != 0) {
      InvalidationOutbox target = redirectTo;
      if (target == null || !target.active()) {
        brokenRedirect = true;
        session.outbox().offerBroken(to);
        return;
      }
      target.offer(keys);
    } else {
      session.outbox().offer(keys);
    }
  }

  /**
   * Remembers the keys {@code spec} is about to read, when this connection tracks them; for a read
   * the node forwards to another member, also registers with that owner and returns the future to
   * wait for before forwarding (null when there is nothing to wait for).
   */
  CompletableFuture<Void> beforeCommand(CommandSpec spec, byte[][] args, TrackingTable table,
      io.distcache.server.tracking.ClusterTracking cluster, boolean routedConnection) {
    if (!on || bcast || spec.firstKey() <= 0 || !spec.flags().contains("readonly")) {
      return null;
    }
    if ((optin && !caching) || (optout && caching)) {
      return null;
    }
    List<byte[]> keys = CommandKeys.keys(spec, args);
    if (keys.isEmpty()) {
      return null;
    }
    for (byte[] k : keys) {
      table.remember(id, k);
    }
    if (cluster == null || routedConnection) {
      return null; // a cluster client is served here or MOVED; never forwarded
    }
    CompletableFuture<Void> f = cluster.registerRemote(keys);
    return f.isDone() ? null : f;
  }

  /** After a command: CLIENT CACHING's flag is spent unless that command set it. */
  void afterCommand() {
    if (cachingJustSet) {
      cachingJustSet = false;
    } else {
      caching = false;
    }
  }
}
