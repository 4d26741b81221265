package io.distcache.server.resp;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.protocol.cluster.Placement.SlotRange;
import io.distcache.server.cluster.ClusterView;
import io.distcache.server.membership.MemberState;
import io.distcache.server.membership.MemberStatus;
import io.distcache.server.membership.MembershipSnapshot;
import io.distcache.server.resp.CommandTable.Registry;
import io.distcache.server.store.ScanResult;
import io.distcache.server.store.Store;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/*
 * Design: the Redis Cluster commands, so that every Redis Cluster client routes by our placement.
 * The placement (slot -> owner, with an epoch) is exactly what Redis Cluster describes: each
 * owning member is shown as a master with no replicas, its node id is the 40-hex member id, its
 * config epoch (and the cluster's current epoch) is the placement epoch, its slot ranges are
 * Placement.ranges(). Members that own nothing (dead, left) are not shown: a client must not
 * route to them. A learner (joining, owning nothing yet) is shown in NODES and SHARDS as a master
 * without slots, as Redis shows an empty master, and never as a replica (shownRanges). Every
 * answer is this node's view, read without blocking; no request leaves the node. Reply shapes
 * follow Redis 7.2 in RESP2 and RESP3 (maps and verbatim text where Redis uses them).
 *
 * READONLY, READWRITE and ASKING make the connection a cluster connection for the redirect rule
 * (ConnectionRouting): only cluster clients send them. CLUSTER SLOTS, SHARDS and NODES make its
 * keyspace commands per node, but are no redirect signal (people type them too).
 * CLUSTER MEMBERS and OWNER are distcache's own (the member list with states, a key's owner).
 * CLUSTER MEET is known only to say how a node joins here (-join): the placement is never assigned.
 *
 * A client connected over TLS is told each member's TLS port in SLOTS and NODES (and MOVED, in
 * RespSession), and its TLS address in MEMBERS and OWNER; SHARDS gives every client both "port"
 * and "tls-port", as Redis does (TlsEndpoints). A TLS client is never shown a node port. A member
 * whose TLS port this node does not know (for a protocol round after it joined, or for good when
 * it has no --tls-port) is left out of SLOTS, NODES and SHARDS for a TLS client, and the ranges it
 * owns are shown as this node's (shownRanges): this node forwards their keys to it instead of
 * answering MOVED (TlsEndpoints), and a client sees no hole (Jedis refuses a slot map with holes,
 * Lettuce fails commands for a slot it has no node for). MEMBERS shows such a member's address as
 * nil, and OWNER naming it is an error.
 *
 * COUNTKEYSINSLOT reads the store's count of the slot's keys (Store.keysInSlot), as Redis does.
 * GETKEYSINSLOT walks the local store (there is no per-slot index of keys; Redis keeps one) until
 * it has found the keys the count says the slot holds: nothing for a slot with no key here, up to
 * O(keys on this node) for one that has some; meant for tools, not for request paths.
 */

/** CLUSTER subcommands, READONLY, READWRITE, ASKING. */
final class ClusterCommands {
  private ClusterCommands() {}

  /** Redis's answer to CLUSTER commands on a node without cluster support. */
  static final String DISABLED = "ERR This instance has cluster support disabled";
  /**
   * CLUSTER MEET's answer, on any node: redis-cli --cluster add-node sends it last (after FUNCTION
   * RESTORE of the cluster's libraries, which a restart with -join clears), and an unknown
   * subcommand told the operator nothing about how a node joins here.
   */
  static final String MEET_REFUSED = "ERR CLUSTER MEET is not supported: distcache places the slots itself;"
      + " start the new node with -join host:port naming any member (README \"A cluster\","
      + " docs/OPERATIONS.md \"Membership changes: what you see\")";
  /** Store keys read per step by the slot-counting commands. */
  private static final int SLOT_SCAN_BATCH = 1024;

  static void register(Registry r) {
    r.addContainer("cluster", -2, "", "cluster", null, List.of(
        Registry.sub("info", 2, "loading stale", "cluster", ClusterCommands::info),
        Registry.sub("myid", 2, "loading stale", "cluster", ClusterCommands::myid),
        Registry.sub("slots", 2, "loading stale", "cluster", ClusterCommands::slots),
        Registry.sub("shards", 2, "loading stale", "cluster", ClusterCommands::shards),
        Registry.sub("nodes", 2, "loading stale", "cluster", ClusterCommands::nodes),
        Registry.sub("keyslot", 3, "loading stale", "cluster", (s, a) -> s.out().integer(KeySlot.of(a[2]))),
        Registry.sub("countkeysinslot", 3, "loading stale", "cluster", ClusterCommands::countKeysInSlot),
        Registry.sub("getkeysinslot", 4, "loading stale", "cluster", ClusterCommands::getKeysInSlot),
        Registry.sub("members", 2, "loading stale", "cluster", ClusterCommands::members),
        Registry.sub("owner", 3, "loading stale", "cluster", ClusterCommands::owner),
        Registry.sub("meet", -4, "admin loading stale", "cluster", (s, a) -> {
          throw new CommandException(MEET_REFUSED);
        }),
        Registry.sub("help", 2, "loading stale", "cluster", (s, a) -> ConnectionCommands.helpReply(s, "CLUSTER",
            List.of("INFO", "    Return information about the cluster as this node sees it.",
                "MYID", "    Return this node's id.",
                "SLOTS", "    Return the slot ranges and the node that serves each.",
                "SHARDS", "    Return each shard's slot ranges and node.",
                "NODES", "    Return the cluster configuration in Redis Cluster's nodes format.",
                "KEYSLOT <key>", "    Return the hash slot of <key>.",
                "COUNTKEYSINSLOT <slot>", "    Return the number of keys in <slot> on this node.",
                "GETKEYSINSLOT <slot> <count>", "    Return up to <count> keys in <slot> on this node.",
                "MEMBERS", "    Return every known member: id, host:port, state, incarnation.",
                "OWNER <key>", "    Return the host:port of the member that owns <key>.",
                "MEET <ip> <port>", "    Not supported: a node joins when started with -join host:port.",
                "HELP", "    Print this help.")))));
    r.add("readonly", 1, "loading stale fast", "connection", (s, a) -> readOnly(s, true));
    r.add("readwrite", 1, "loading stale fast", "connection", (s, a) -> readOnly(s, false));
    r.add("asking", 1, "fast", "connection", ClusterCommands::markCluster);
  }

  private static ClusterView view(RespSession s) {
    ClusterView view = s.context().cluster();
    if (view == null) {
      throw new CommandException(DISABLED);
    }
    return view;
  }

  /** READONLY, READWRITE, ASKING: OK, and the connection is a cluster connection from now on. */
  /**
   * READONLY and READWRITE: as ASKING, and READONLY lets this connection's reads of slots this
   * node replicates be answered here (ClusterRouter.routeReadOnly), as on a Redis replica.
   */
  private static void readOnly(RespSession s, boolean on) {
    view(s);
    s.routing().clusterCommand();
    s.routing().readOnly(on);
    s.out().ok();
  }

  private static void markCluster(RespSession s, byte[][] a) {
    view(s);
    s.routing().clusterCommand();
    s.out().ok();
  }

  private static void info(RespSession s, byte[][] a) {
    s.out().verbatim(infoLines(s, view(s)));
  }

  private static void myid(RespSession s, byte[][] a) {
    Member self = view(s).self();
    if (self == null) {
      throw new CommandException("ERR membership is not started yet");
    }
    s.out().bulk(self.id());
  }

  /**
   * Redis 7: [[first, last, [host, port, id, {}], replica..., ], ...], one entry per contiguous
   * range with one owner and the same replicas; the owner first, then its replicas in ring order.
   */
  private static void slots(RespSession s, byte[][] a) {
    ClusterView view = view(s);
    s.routing().topologyCommand();
    List<SlotRange> ranges = ownersFirst(shownRanges(s, view));
    RespWriter w = s.out();
    w.array(ranges.size());
    for (SlotRange r : ranges) {
      w.array(3 + r.replicas().size());
      w.integer(r.first());
      w.integer(r.last());
      slotNode(w, r.owner(), clientPort(s, r.owner()));
      for (Member replica : r.replicas()) {
        slotNode(w, replica, clientPort(s, replica));
      }
    }
  }

  /**
   * {@code ranges} led by one single-slot entry per owner that would otherwise appear first as
   * another's replica, the owner listed in its replicas' places too: the first slot of its first
   * range, which the rest then leaves out. redis-py (4.x) gives each node the role of its
   * first appearance in CLUSTER SLOTS, and every member here is also a replica of others' ranges:
   * in slot order most members appeared first as a replica, so redis-py took them for replicas and
   * sent FLUSHALL, DBSIZE, SCAN and KEYS to one node of three (a tester: `flushall()` returned
   * True and left 3,431 of 5,150 keys). Redis does not promise an order; the slots covered and
   * their owners are the same, only that one slot per owner names no other replica (reads of it
   * from "replicas" reach its owner).
   */
  static List<SlotRange> ownersFirst(List<SlotRange> ranges) {
    java.util.Map<Member, Integer> firstOwned = new java.util.HashMap<>();
    java.util.Map<Member, Integer> copies = new java.util.HashMap<>();
    for (SlotRange r : ranges) {
      firstOwned.putIfAbsent(r.owner(), r.first());
      copies.putIfAbsent(r.owner(), r.replicas().size());
    }
    // Only the owners that would first appear as a replica need a leading entry.
    java.util.Set<Member> seen = new java.util.HashSet<>();
    java.util.Map<Member, Integer> lead = new java.util.LinkedHashMap<>();
    for (SlotRange r : ranges) {
      seen.add(r.owner());
      for (Member replica : r.replicas()) {
        if (seen.add(replica) && firstOwned.containsKey(replica)) {
          lead.put(replica, firstOwned.get(replica));
        }
      }
    }
    List<SlotRange> out = new ArrayList<>(ranges.size() + lead.size());
    for (Map.Entry<Member, Integer> e : lead.entrySet()) {
      // The owner again in the replicas' places: as many entries as its other ranges have, since
      // redis-py with read_from_replicas picks a slot's node by a per-owner round-robin index
      // taken modulo the slot's list size (a shorter list raised "list index out of range").
      out.add(new SlotRange(e.getValue(), e.getValue(), e.getKey(),
          java.util.Collections.nCopies(copies.get(e.getKey()), e.getKey())));
    }
    for (SlotRange r : ranges) {
      Integer led = lead.get(r.owner());
      if (led != null && led == r.first()) {
        if (r.first() < r.last()) {
          out.add(new SlotRange(r.first() + 1, r.last(), r.owner(), r.replicas()));
        }
      } else {
        out.add(r);
      }
    }
    return out;
  }

  /**
   * The port this connection reaches {@code m} on: its TLS port for a client connected over TLS
   * (when this node knows it; see TlsEndpoints), its node port otherwise.
   */
  private static int clientPort(RespSession s, Member m) {
    io.distcache.server.cluster.TlsEndpoints tls = s.context().tlsEndpoints();
    return tls == null ? m.address().port() : tls.clientPort(m, s.tlsClient());
  }

  /**
   * The placement's ranges as this connection is shown them: without learners among the replicas
   * (below); to a TLS client, a range whose owner's TLS port is unknown is this node's (which
   * forwards its keys), and replicas whose TLS port is unknown are left out.
   *
   * A learner (a member joining, which owns nothing yet) receives its slots' writes but answers no
   * READONLY read (ARCHITECTURE.md "Replica reads"), so it is no replica to a client. Listed as one,
   * it misled redis-py (4.3.4) for good: its topology refresh keeps a node object it knows and never
   * changes its role, so a refresh during a restarted node's 1-2 s of learning left that node a
   * "replica" after it owned slots again; and a MOVED to a slot's listed replica reads to it as a
   * failover, which makes the slot's owner a replica. Either way scan_iter(), which scans primaries
   * only, skipped whole nodes' keys for the client's whole life (2,037 and 1,025 keys of 3,000).
   */
  private static List<SlotRange> shownRanges(RespSession s, ClusterView view) {
    Placement placement = view.placement();
    List<SlotRange> ranges = placement.ranges();
    io.distcache.server.cluster.TlsEndpoints tls = s.context().tlsEndpoints();
    Member self = view.self();
    boolean tlsClient = tls != null && s.tlsClient() && self != null;
    long learners = placement.learnerMask();
    if (!tlsClient && learners == 0) {
      return ranges;
    }
    List<SlotRange> out = new ArrayList<>(ranges.size());
    for (SlotRange r : ranges) {
      Member owner = !tlsClient || tls.tlsPort(r.owner()) != 0 ? r.owner() : self;
      List<Member> replicas = new ArrayList<>();
      for (Member replica : r.replicas()) {
        int at = placement.indexOf(replica);
        boolean learner = at >= 0 && (learners & (1L << at)) != 0;
        if (!learner && (!tlsClient || tls.tlsPort(replica) != 0) && !replica.equals(owner)) {
          replicas.add(replica);
        }
      }
      SlotRange last = out.isEmpty() ? null : out.get(out.size() - 1);
      if (last != null && last.last() + 1 == r.first() && last.owner().equals(owner) && last.replicas().equals(replicas)) {
        out.set(out.size() - 1, new SlotRange(last.first(), r.last(), owner, List.copyOf(replicas)));
      } else {
        out.add(new SlotRange(r.first(), r.last(), owner, List.copyOf(replicas)));
      }
    }
    return out;
  }

  /** The members a TLS client is shown: those whose TLS port is known (all, to a plain client). */
  private static List<Member> shownMembers(RespSession s, ClusterView view) {
    List<Member> members = view.placement().members();
    io.distcache.server.cluster.TlsEndpoints tls = s.context().tlsEndpoints();
    if (tls == null || !s.tlsClient() || view.self() == null) {
      return members;
    }
    List<Member> out = new ArrayList<>();
    for (Member m : members) {
      if (tls.tlsPort(m) != 0) {
        out.add(m);
      }
    }
    return out;
  }

  private static void slotNode(RespWriter w, Member m, int port) {
    w.array(4);
    w.bulk(m.address().host());
    w.integer(port);
    w.bulk(m.id());
    w.map(0); // networking metadata (hostname, tls-port): none
  }

  /**
   * Redis 7: one map per shard, {slots: [first, last, ...], nodes: [{id, port, ip, ...}]}. A shard
   * is an owner with one set of replicas: with replicas chosen per slot on the ring, an owner's
   * slots are copied to different members, so an owner heads one shard per replica set (and a
   * member is a master in its own shards and a replica in others'). Without replicas, one shard
   * per member.
   */
  private static void shards(RespSession s, byte[][] a) {
    ClusterView view = view(s);
    s.routing().topologyCommand();
    Map<List<Member>, List<SlotRange>> shards = byShard(shownMembers(s, view), shownRanges(s, view));
    RespWriter w = s.out();
    w.array(shards.size());
    for (Map.Entry<List<Member>, List<SlotRange>> e : shards.entrySet()) {
      w.map(2);
      w.bulk("slots");
      w.array(e.getValue().size() * 2);
      for (SlotRange r : e.getValue()) {
        w.integer(r.first());
        w.integer(r.last());
      }
      w.bulk("nodes");
      List<Member> nodes = e.getKey();
      w.array(nodes.size());
      io.distcache.server.cluster.TlsEndpoints tls = s.context().tlsEndpoints();
      for (int i = 0; i < nodes.size(); i++) {
        shardNode(w, nodes.get(i), i == 0 ? "master" : "replica", tls == null ? 0 : tls.tlsPort(nodes.get(i)));
      }
    }
  }

  /** Redis's fields; "tls-port" (as Redis) when the member's TLS port is known, for every client. */
  private static void shardNode(RespWriter w, Member m, String role, int tlsPort) {
    w.map(tlsPort > 0 ? 8 : 7);
    w.bulk("id");
    w.bulk(m.id());
    w.bulk("port");
    w.integer(m.address().port());
    if (tlsPort > 0) {
      w.bulk("tls-port");
      w.integer(tlsPort);
    }
    w.bulk("ip");
    w.bulk(m.address().host());
    w.bulk("endpoint");
    w.bulk(m.address().host());
    w.bulk("role");
    w.bulk(role);
    w.bulk("replication-offset");
    w.integer(0);
    w.bulk("health");
    w.bulk("online");
  }

  /** Ranges grouped by [owner, replicas...]: owners in id order, then each owner's groups in slot order. */
  private static Map<List<Member>, List<SlotRange>> byShard(List<Member> members, List<SlotRange> ranges) {
    Map<List<Member>, List<SlotRange>> out = new LinkedHashMap<>();
    for (Map.Entry<Member, List<SlotRange>> e : byOwner(members, ranges).entrySet()) {
      if (e.getValue().isEmpty()) {
        out.put(List.of(e.getKey()), new ArrayList<>());
      }
      for (SlotRange r : e.getValue()) {
        List<Member> key = new ArrayList<>();
        key.add(r.owner());
        key.addAll(r.replicas());
        out.computeIfAbsent(List.copyOf(key), k -> new ArrayList<>()).add(r);
      }
    }
    return out;
  }

  private static void nodes(RespSession s, byte[][] a) {
    ClusterView view = view(s);
    s.routing().topologyCommand();
    s.out().verbatim(nodesText(view, s.context().clock().millis(), m -> clientPort(s, m), shownMembers(s, view),
        shownRanges(s, view)));
  }

  /**
   * Redis's CLUSTER NODES text: per owning member, "id host:port@port flags - 0 pong epoch
   * connected ranges...", "myself," on this node's line; members in id order. Every line says
   * master, replicas or not: each member is the owner (primary) of its own slots, and Redis's
   * format gives a node one role, so a "slave <primary-id>" line would hide the slots it owns.
   * CLUSTER SLOTS and CLUSTER SHARDS list each range's replicas.
   */
  static String nodesText(ClusterView view, long nowMillis) {
    return nodesText(view, nowMillis, m -> m.address().port());
  }

  /** As above, each member at the port {@code clientPort} gives (a TLS client's: the TLS port), "@" the node port. */
  static String nodesText(ClusterView view, long nowMillis, java.util.function.ToIntFunction<Member> clientPort) {
    return nodesText(view, nowMillis, clientPort, view.placement().members(), view.placement().ranges());
  }

  /** As above, for the members and ranges this connection is shown (shownMembers, shownRanges). */
  private static String nodesText(ClusterView view, long nowMillis, java.util.function.ToIntFunction<Member> clientPort,
      List<Member> members, List<SlotRange> ranges) {
    Placement placement = view.placement();
    Member self = view.self();
    MembershipSnapshot snapshot = view.snapshot().orElse(null);
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<Member, List<SlotRange>> e : byOwner(members, ranges).entrySet()) {
      Member m = e.getKey();
      boolean me = m.equals(self);
      boolean suspect = snapshot != null
          && snapshot.state(m.id()).map(st -> st == MemberState.SUSPECT).orElse(false);
      sb.append(m.id()).append(' ').append(new io.distcache.protocol.cluster.Address(m.address().host(),
          clientPort.applyAsInt(m))).append('@').append(m.address().port()).append(' ')
          .append(me ? "myself,master" : "master").append(suspect ? ",pfail" : "").append(" - 0 ")
          .append(me ? 0 : nowMillis).append(' ').append(placement.epoch()).append(" connected");
      // The placement splits an owner's run where the replicas change; Redis prints one range per run.
      int first = -1;
      int last = -1;
      for (SlotRange r : e.getValue()) {
        if (first >= 0 && r.first() == last + 1) {
          last = r.last();
          continue;
        }
        appendRange(sb, first, last);
        first = r.first();
        last = r.last();
      }
      appendRange(sb, first, last);
      sb.append('\n');
    }
    return sb.toString();
  }

  private static void appendRange(StringBuilder sb, int first, int last) {
    if (first < 0) {
      return;
    }
    sb.append(' ').append(first);
    if (last != first) {
      sb.append('-').append(last);
    }
  }

  /** Each owner's ranges in slot order, owners in id order (the placement's member order). */
  private static Map<Member, List<SlotRange>> byOwner(List<Member> members, List<SlotRange> ranges) {
    Map<Member, List<SlotRange>> out = new LinkedHashMap<>();
    for (Member m : members) {
      out.put(m, new ArrayList<>());
    }
    for (SlotRange r : ranges) {
      out.computeIfAbsent(r.owner(), k -> new ArrayList<>()).add(r);
    }
    return out;
  }

  private static void countKeysInSlot(RespSession s, byte[][] a) {
    view(s);
    long slot = Args.parseLong(a[2]);
    if (slot < 0 || slot >= KeySlot.SLOTS) {
      throw new CommandException("ERR Invalid slot");
    }
    s.out().integer(ServerCommands.wholeStore(s, () -> s.context().store().keysInSlot((int) slot)));
  }

  private static void getKeysInSlot(RespSession s, byte[][] a) {
    view(s);
    long slot = Args.parseLong(a[2]);
    long max = Args.parseLong(a[3]);
    if (slot < 0 || slot >= KeySlot.SLOTS || max < 0) {
      throw new CommandException("ERR Invalid slot or number of keys");
    }
    List<byte[]> keys = new ArrayList<>();
    ServerCommands.wholeStore(s, () -> keysOfSlot(s.context().store(), (int) slot, max, keys));
    RespWriter w = s.out();
    w.array(keys.size());
    for (byte[] k : keys) {
      w.bulk(k);
    }
  }

  /**
   * Collects into {@code out} up to {@code max} local keys of {@code slot}. The walk stops once it
   * has found as many as the store counts in the slot (a key expired and not removed yet is counted
   * but not listed, so such a slot is walked to the end): a slot with no key here costs nothing,
   * as does the last GETKEYSINSLOT of a tool that asks until a slot is empty.
   */
  private static List<byte[]> keysOfSlot(Store store, int slot, long max, List<byte[]> out) {
    long want = Math.min(max, store.keysInSlot(slot));
    if (want == 0) {
      return out;
    }
    long cursor = 0;
    long[] only = new long[KeySlot.SLOTS / 64];
    only[slot >>> 6] = 1L << slot;
    do {
      ScanResult step = store.scanSlots(cursor, SLOT_SCAN_BATCH, only);
      for (byte[] k : step.keys()) {
        if (out.size() < want) {
          out.add(k);
        }
      }
      cursor = step.nextCursor();
    } while (cursor != 0 && out.size() < want);
    return out;
  }

  /**
   * One array per member, by id: [id, host:port, state (alive, suspect, dead, left), incarnation];
   * for a TLS client host:port is the TLS address, nil when this node does not know it.
   */
  private static void members(RespSession s, byte[][] a) {
    MembershipSnapshot snapshot = view(s).snapshot().orElse(null);
    List<MemberStatus> members = snapshot == null ? List.of() : snapshot.members();
    io.distcache.server.cluster.TlsEndpoints tls = s.tlsClient() ? s.context().tlsEndpoints() : null;
    RespWriter w = s.out();
    w.array(members.size());
    for (MemberStatus m : members) {
      w.array(4);
      w.bulk(m.id());
      if (tls == null) {
        w.bulk(m.member().address().toString());
      } else {
        io.distcache.protocol.cluster.Address at = tls.forTls(m.member());
        if (at == null) {
          w.nil();
        } else {
          w.bulk(at.toString());
        }
      }
      w.bulk(m.state().name().toLowerCase(Locale.ROOT));
      w.integer(m.incarnation());
    }
  }

  private static void owner(RespSession s, byte[][] a) {
    Member owner = view(s).owner(Args.key(a[2]));
    if (owner == null) {
      s.out().nil(); // membership not started yet: nobody owns anything
      return;
    }
    io.distcache.server.cluster.TlsEndpoints tls = s.tlsClient() ? s.context().tlsEndpoints() : null;
    if (tls == null) {
      s.out().bulk(owner.address().toString());
      return;
    }
    io.distcache.protocol.cluster.Address at = tls.forTls(owner);
    if (at == null) {
      throw new CommandException("ERR the TLS port of owner " + owner.id() + " is not known to this node yet");
    }
    s.out().bulk(at.toString());
  }

  /**
   * CLUSTER INFO's lines, CRLF-terminated: Redis's fields first (same names and meaning), then
   * distcache's own (member states, the redirect mode, forwarded requests), as {@code s} is shown them.
   */
  static String infoLines(RespSession s, ClusterView view) {
    int alive = 0;
    int suspect = 0;
    int dead = 0;
    int left = 0;
    List<MemberStatus> members = view.snapshot().map(MembershipSnapshot::members).orElse(List.of());
    int pfailSlots = 0;
    Placement placement = view.placement();
    for (MemberStatus m : members) {
      switch (m.state()) {
        case ALIVE -> alive++;
        case SUSPECT -> {
          suspect++;
          pfailSlots += placement.slotCount(m.member());
        }
        case DEAD -> dead++;
        case LEFT -> left++;
      }
    }
    int assigned = placement.isEmpty() ? 0 : KeySlot.SLOTS;
    boolean serving = view.leaseHeld();
    if (!serving) {
      // This node serves no slot (cut off, or joining through seeds that have not answered): none
      // of them is ok from where it stands, as Redis's minority side sees every other node PFAIL.
      pfailSlots = assigned;
    }
    StringBuilder sb = new StringBuilder();
    line(sb, "cluster_state", assigned == KeySlot.SLOTS && serving ? "ok" : "fail");
    line(sb, "cluster_slots_assigned", assigned);
    line(sb, "cluster_slots_ok", assigned - pfailSlots);
    line(sb, "cluster_slots_pfail", pfailSlots);
    line(sb, "cluster_slots_fail", 0);
    // The nodes CLUSTER NODES lists, as in Redis, where the two agree (redis-cli --cluster's
    // emptiness check reads this count). Dead members are not listed there (a client must not route
    // to them), so counting them gave 6 beside 4 lines; cluster_dead_nodes counts them.
    line(sb, "cluster_known_nodes", listedNodes(s, view, placement));
    line(sb, "cluster_size", placement.ownerCount());
    line(sb, "cluster_current_epoch", placement.epoch());
    line(sb, "cluster_my_epoch", placement.epoch());
    line(sb, "cluster_stats_messages_sent", view.messagesSent());
    line(sb, "cluster_stats_messages_received", view.messagesReceived());
    line(sb, "total_cluster_links_buffer_limit_exceeded", 0);
    line(sb, "cluster_alive_nodes", alive);
    line(sb, "cluster_suspect_nodes", suspect);
    line(sb, "cluster_dead_nodes", dead);
    line(sb, "cluster_left_nodes", left);
    line(sb, "cluster_redirects", s.context().redirects().flagName());
    // Copies: what --replicas asks for, and what the members allow (fewer members than copies).
    line(sb, "cluster_replicas", placement.replicas());
    line(sb, "cluster_replicas_per_slot", placement.replicasPerSlot());
    line(sb, "cluster_under_replicated", placement.underReplicated() ? 1 : 0);
    // Members joining: in the placement, learning their slots, owning none yet (ARCHITECTURE.md "Rebalancing").
    line(sb, "cluster_learning_nodes", placement.size() - placement.ownerCount());
    // Members leaving gracefully while their slots gain their next copies (ARCHITECTURE.md "Hand-off").
    line(sb, "cluster_departing_nodes", view.snapshot().map(snap -> snap.departing().size()).orElse(0));
    line(sb, "forwarded_requests", view.forwardedRequests());
    // DBSIZE on a cluster connection; INFO keyspace's db0 keys also count the replica copies.
    line(sb, "cluster_owned_keys", view.ownedKeys());
    return sb.toString();
  }

  /** How many lines CLUSTER NODES gives {@code s}: the placement's members (a TLS client's: see shownRanges). */
  private static int listedNodes(RespSession s, ClusterView view, Placement placement) {
    io.distcache.server.cluster.TlsEndpoints tls = s.context().tlsEndpoints();
    if (tls == null || !s.tlsClient() || view.self() == null) {
      return placement.size(); // every range's owner is a member; the placement the reply's other lines read
    }
    return byOwner(shownMembers(s, view), shownRanges(s, view)).size();
  }

  private static void line(StringBuilder sb, String name, Object value) {
    sb.append(name).append(':').append(value).append("\r\n");
  }
}
