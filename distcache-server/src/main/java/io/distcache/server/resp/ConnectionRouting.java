package io.distcache.server.resp;

import io.distcache.protocol.Flags;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ClusterView;
import io.distcache.server.cluster.SlotHistory;
import java.util.List;

/*
 * Design: the redirect rule of one Redis connection (docs/PROTOCOL.md, "Redirects"). Cluster
 * clients (redis-py RedisCluster, ioredis Redis.Cluster, JedisCluster, Lettuce RedisClusterClient)
 * must get MOVED after a topology change: none of them refreshes its slot map on its own, so
 * without a MOVED they would pay a forwarding hop for ever. Plain clients must never see one, or
 * they fail. Nothing in the connection handshake tells the two apart (both send the same CLIENT
 * SETINFO), and the clients fetch their map on throw-away connections, so "asked CLUSTER SLOTS"
 * finds none of them (docs/PROTOCOL.md, "Redirects", has what each client does).
 * What differs is the keys: a cluster client keeps connections per node and sends on each only
 * the slots its map gives that node; a plain connection sends every slot to one node.
 *
 * In `auto` mode a connection is one of:
 *
 *   LEARNING  no evidence yet (every connection starts here). Forwarded. A keyed request whose
 *             keys share one slot is evidence:
 *               a slot we own, or owned in one   counts (distinct slots; a stale cluster map sends
 *               of our last 3 placements         the slots we lost): at QUALIFY_SLOTS distinct
 *                                                slots the connection is ROUTED
 *               any other slot                   PLAIN: no recent cluster map sent it here
 *             A multi-key request over several slots is PLAIN (Redis Cluster refuses it with
 *             CROSSSLOT, so no cluster client sends one). A one-member placement is no evidence.
 *   ROUTED    its keys were all for our slots: a cluster client routing by its map. Requests are
 *             flagged ROUTED while their slot is one we own or recently owned, so a lost slot gets
 *             MOVED; any other slot, or a multi-slot request, makes it PLAIN (forwarded).
 *   CLUSTER   it sent READONLY, READWRITE or ASKING, which only cluster clients send: every
 *             keyed request is ROUTED, as on Redis Cluster.
 *   PLAIN     forwarded for ever, never ROUTED.
 *
 * CLUSTER SLOTS/SHARDS/NODES are not a redirect signal (an operator may type CLUSTER NODES and
 * then GET in one redis-cli session), but they make keyspace commands per node: whoever asked for
 * the slot map combines per-node answers itself.
 *
 * Residual risk: a plain connection whose first 32 distinct slots were all this node's by chance
 * ((1/k)^32 with k owners and keys spread over slots: 2.3e-10 for k = 2) and that then sends a
 * key of a slot this node lost gets MOVED. Counting distinct slots, not requests, keeps a plain
 * client that hammers one key (or one hash tag) LEARNING for ever.
 *
 * The router decides serve-or-forward; this only chooses whether a request carries ROUTED. The
 * router reads the placement again, so a change in between at worst turns a ROUTED request for a
 * slot we held a moment ago into MOVED, which a ROUTED connection expects. All calls come from
 * the connection's event loop.
 */

/** Decides, per keyed request of one Redis connection, whether it carries {@link Flags#ROUTED}. */
final class ConnectionRouting {
  /** Distinct slots (ours, now or before) before a connection counts as routed by a cluster map. */
  static final int QUALIFY_SLOTS = 32;

  enum State {
    LEARNING,
    ROUTED,
    CLUSTER,
    PLAIN
  }

  private final RedirectMode mode;
  private final ClusterView view;
  private final SlotHistory history;
  private State state = State.LEARNING;
  /** CLUSTER SLOTS, SHARDS or NODES was sent on this connection. */
  private boolean askedTopology;
  /** Distinct slots seen while LEARNING; null afterwards. */
  private short[] seen = new short[QUALIFY_SLOTS];
  private int seenCount;

  ConnectionRouting(RedirectMode mode, ClusterView view, SlotHistory history) {
    this.mode = mode;
    this.view = view;
    this.history = history;
  }

  State state() {
    return state;
  }

  /** READONLY, READWRITE, ASKING: only cluster clients send them. */
  void clusterCommand() {
    state = State.CLUSTER;
    seen = null;
  }

  /** READONLY (true) or READWRITE (false): whether reads may be answered by a replica here. */
  void readOnly(boolean on) {
    readOnly = on;
  }

  /** True after READONLY (until READWRITE): reads of slots this node replicates are served here. */
  boolean readOnly() {
    return readOnly;
  }

  private boolean readOnly;

  /** CLUSTER SLOTS, SHARDS, NODES: keyspace commands answer per node from now on. */
  void topologyCommand() {
    askedTopology = true;
  }

  /** True when keyspace commands (DBSIZE, SCAN, ...) answer for this node alone, as Redis Cluster. */
  boolean perNode() {
    if (view == null || mode == RedirectMode.MOVED || askedTopology) {
      return true;
    }
    return state == State.CLUSTER || (mode == RedirectMode.AUTO && state == State.ROUTED);
  }

  /** The flags to add to a request for {@code key}: ROUTED or 0. */
  int flagsFor(byte[] key) {
    if (view == null || mode == RedirectMode.FORWARD) {
      return 0;
    }
    if (mode == RedirectMode.MOVED || state == State.CLUSTER) {
      return Flags.ROUTED;
    }
    if (state == State.PLAIN) {
      return 0;
    }
    return observe(KeySlot.of(key));
  }

  /** The flags to add to a multi-key request (keys at 0, step, 2 * step, ...): ROUTED or 0. */
  int flagsFor(List<byte[]> keys, int step) {
    if (view == null || mode == RedirectMode.FORWARD) {
      return 0;
    }
    if (mode == RedirectMode.MOVED || state == State.CLUSTER) {
      return Flags.ROUTED;
    }
    if (state == State.PLAIN || keys.isEmpty()) {
      return 0;
    }
    int slot = KeySlot.of(keys.get(0));
    for (int i = step; i < keys.size(); i += step) {
      if (KeySlot.of(keys.get(i)) != slot) {
        plain(); // CROSSSLOT on Redis Cluster: no cluster client sends this
        return 0;
      }
    }
    return observe(slot);
  }

  /** Whether a multi-key request needs its keys looked at (they are decoded only then). */
  boolean wantsKeys() {
    return view != null && mode == RedirectMode.AUTO && (state == State.LEARNING || state == State.ROUTED);
  }

  /** Updates the state with one request's slot; ROUTED or 0 for that request. */
  private int observe(int slot) {
    Placement placement = view.placement();
    Member self = view.self();
    if (placement.ownerCount() < 2 || self == null) {
      return 0; // one owner: every slot is ours, which tells nothing about the client
    }
    boolean ownedNow = placement.owns(self, slot);
    boolean ours = ownedNow || (history != null && history.recentlyOwned(slot));
    if (!ours) {
      plain(); // no recent cluster map sent this slot here
      return 0;
    }
    if (state == State.LEARNING && ownedNow) {
      // Only slots owned now qualify: the slots owned in any of the last placements together
      // cover most of the slot space after a few changes, and would qualify plain connections
      // far more often than (1/owners)^32 (found in review). A recently owned slot keeps a
      // learning connection learning (a cluster client's map may lag).
      count(slot);
    }
    return state == State.ROUTED ? Flags.ROUTED : 0;
  }

  private void plain() {
    state = State.PLAIN;
    seen = null;
  }

  private void count(int slot) {
    for (int i = 0; i < seenCount; i++) {
      if (seen[i] == (short) slot) {
        return;
      }
    }
    seen[seenCount++] = (short) slot;
    if (seenCount == QUALIFY_SLOTS) {
      state = State.ROUTED;
      seen = null;
    }
  }
}
