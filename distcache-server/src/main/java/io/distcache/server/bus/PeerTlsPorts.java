package io.distcache.server.bus;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/*
 * Design: each member's TLS port (--tls-port), which clients connected over TLS must be told in
 * CLUSTER SLOTS/SHARDS/NODES, MOVED and NOT_OWNER instead of the node port. Members are known by
 * their node port only, so the TLS port travels in the peer handshake (PEER_HELLO version 2):
 * the dialer sends its own in HELLO, the acceptor its own in the reply, and each side records the
 * other's under its member id once the handshake has succeeded. Every member probes every other
 * once a protocol round, so within a round of a member joining every node has shaken hands with
 * it both ways and knows its port; a restarted member has a new id, hence a new entry.
 *
 * The ports are as trustworthy as the handshake that carried them: with a cluster secret both
 * proofs cover both ports (PeerHandshake, version 3), so a port rewritten on the way fails the
 * handshake and is never recorded. Until a member's port is recorded, TLS clients are not sent to
 * it (TlsEndpoints).
 * The table is bounded: at MAX_ENTRIES, entries of ids that are no longer members are dropped
 * before a new one is added (and a new one is ignored if none can be), so a stream of handshakes
 * under invented ids cannot grow it.
 */

/** Each peer's TLS port as told in its handshake, and this node's own. */
public final class PeerTlsPorts {
  /** Entries at most: four times the member table, for restarts not yet forgotten. */
  public static final int MAX_ENTRIES = 1024;

  private final ConcurrentHashMap<String, Integer> byId = new ConcurrentHashMap<>();
  private final Predicate<String> isMember;
  private volatile int self;

  /** @param isMember whether an id is still a member (entries of others may be dropped) */
  public PeerTlsPorts(Predicate<String> isMember) {
    this.isMember = isMember;
  }

  /** This node's TLS port, 0 without one. */
  public int self() {
    return self;
  }

  public void self(int port) {
    checkPort(port);
    this.self = port;
  }

  /** Records what peer {@code id} said in a successful handshake; 0 (no TLS port) forgets it. */
  public void learned(String id, int port) {
    checkPort(port);
    if (port == 0) {
      byId.remove(id);
      return;
    }
    if (byId.size() >= MAX_ENTRIES && !byId.containsKey(id)) {
      byId.keySet().removeIf(k -> !isMember.test(k));
      if (byId.size() >= MAX_ENTRIES) {
        return;
      }
    }
    byId.put(id, port);
  }

  /** The TLS port peer {@code id} told us, 0 when none is known. */
  public int of(String id) {
    Integer p = byId.get(id);
    return p == null ? 0 : p;
  }

  int size() {
    return byId.size();
  }

  private static void checkPort(int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("TLS port " + port + " is out of range 0..65535");
    }
  }
}
