package io.distcache.client;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Placement;
import io.distcache.protocol.cluster.Member;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Scripted nodes that behave like a cluster for the smart client: each answers CLUSTER_MEMBERS
 * with the list the test sets (at an epoch that grows with every change, unless the test says
 * otherwise), serves keys whose slot it owns in that list from one shared map, answers NOT_OWNER
 * [epoch, slot] to a ROUTED request for a key it does not own, and "forwards" an unflagged one
 * (serves it from the shared map and counts a forward). SIZE, FLUSH and SCAN cover the keys the
 * node owns. A node can be made to lag: it then answers and routes by an older view of its own.
 * Every request is logged per node.
 */
final class FakeCluster implements AutoCloseable {
  static final int VIRTUAL_NODES = 64;

  /** One logged request: which node got it and how. */
  record Received(String node, Opcode op, int flags, String key) {
    boolean routed() {
      return (flags & Flags.ROUTED) != 0;
    }
  }

  private final List<ScriptedServer> servers = new ArrayList<>();
  private final List<String> ids = new ArrayList<>();
  private final java.util.Set<Integer> stopped = ConcurrentHashMap.newKeySet();
  private final Map<String, byte[]> data = new ConcurrentHashMap<>();
  final Queue<Received> log = new ConcurrentLinkedQueue<>();
  final Queue<String> forwardedBy = new ConcurrentLinkedQueue<>();
  /** One entry per key of every multi-key request. */
  final Queue<Received> multiKeys = new ConcurrentLinkedQueue<>();
  /** What every node answers to CLUSTER_MEMBERS; null: BAD_REQUEST, as a node without a cluster layer. */
  private volatile List<ClusterMember> members;
  private volatile Placement ring = Placement.empty();
  private volatile long epoch = 6;
  /** Nodes that answer by an older view of their own: node id to [members, placement]. */
  private final Map<String, View> lagging = new ConcurrentHashMap<>();
  /** When set, CLUSTER_MEMBERS replies carry this fingerprint instead of the true one. */
  volatile Long fakeFingerprint;
  /** When true, CLUSTER_MEMBERS replies carry two extras, as nodes older than slots did. */
  volatile boolean legacyExtras;
  /** ROUTED keyed requests answered TRY_AGAIN while this is above zero (one each). */
  final java.util.concurrent.atomic.AtomicInteger tryAgainRouted = new java.util.concurrent.atomic.AtomicInteger();

  private record View(List<ClusterMember> members, Placement placement) {}

  FakeCluster(int nodes) {
    for (int i = 0; i < nodes; i++) {
      String id = "node-" + i;
      ids.add(id);
      servers.add(ScriptedServer.start((ctx, request) -> ctx.writeAndFlush(answer(id, request))));
    }
  }

  String address(int node) {
    return servers.get(node).address();
  }

  int port(int node) {
    return servers.get(node).port();
  }

  ClusterMember member(int node, ClusterMember.State state) {
    return new ClusterMember(ids.get(node), "127.0.0.1", port(node), state, 1);
  }

  /** Every node now reports these members at the next epoch (and owns keys by their placement). */
  void setMembers(List<ClusterMember> list) {
    setMembers(list, epoch + 1);
  }

  /** Every node now reports these members at {@code atEpoch}. */
  void setMembers(List<ClusterMember> list, long atEpoch) {
    ring = placement(list, atEpoch);
    epoch = atEpoch;
    members = List.copyOf(list);
  }

  /** Node {@code node} answers and routes by these members at {@code atEpoch}, whatever the others say. */
  void lag(int node, List<ClusterMember> list, long atEpoch) {
    lagging.put(ids.get(node), new View(List.copyOf(list), placement(list, atEpoch)));
  }

  long epoch() {
    return epoch;
  }

  private static Placement placement(List<ClusterMember> list, long atEpoch) {
    List<Member> owners = new ArrayList<>();
    for (ClusterMember m : list) {
      if (m.state().ownsKeys()) {
        owners.add(new Member(m.id(), new Address(m.host(), m.port())));
      }
    }
    return Placement.of(atEpoch, owners, VIRTUAL_NODES);
  }

  /** All nodes ALIVE. */
  void allAlive() {
    List<ClusterMember> list = new ArrayList<>();
    for (int i = 0; i < servers.size(); i++) {
      list.add(member(i, ClusterMember.State.ALIVE));
    }
    setMembers(list);
  }

  /** The node id that owns {@code key} in the current list. */
  String ownerId(String key) {
    return ring.ownerOf(key.getBytes(StandardCharsets.UTF_8)).id();
  }

  /** The keys stored, whoever owns them. */
  java.util.Set<String> keys() {
    return java.util.Set.copyOf(data.keySet());
  }

  String id(int node) {
    return ids.get(node);
  }

  long membersRequests() {
    return log.stream().filter(r -> r.op() == Opcode.CLUSTER_MEMBERS).count();
  }

  List<Received> keyed() {
    return log.stream().filter(r -> r.op() != null && r.op().keyed()).toList();
  }

  private Frame answer(String self, Frame request) {
    Opcode op = request.op();
    log.add(new Received(self, op, request.flags(), new String(request.key(), StandardCharsets.UTF_8)));
    View lag = lagging.get(self);
    List<ClusterMember> list = lag != null ? lag.members() : members;
    Placement placement = lag != null ? lag.placement() : ring;
    if (op == Opcode.CLUSTER_MEMBERS) {
      if (list == null) {
        return request.replyError(Status.BAD_REQUEST, "CLUSTER_MEMBERS is a cluster message; this node has no cluster layer");
      }
      Long fake = fakeFingerprint;
      return legacyExtras
          ? request.replyValue(encode(list), placement.epoch(), VIRTUAL_NODES)
          : request.replyValue(encode(list), placement.epoch(), VIRTUAL_NODES,
              fake != null ? fake : placement.fingerprint());
    }
    if (op == Opcode.SIZE || op == Opcode.FLUSH || op == Opcode.SCAN) {
      return nodeWide(self, placement, op, request);
    }
    if (op == Opcode.MULTI_GET || op == Opcode.MULTI_SET || op == Opcode.MULTI_DELETE || op == Opcode.MULTI_EXISTS) {
      return multi(self, op, request);
    }
    if (op == null || !op.keyed()) {
      return request.replyOk();
    }
    if (request.hasFlag(Flags.ROUTED) && tryAgainRouted.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      return request.replyError(Status.TRY_AGAIN, "slot is moving");
    }
    if (list != null && !placement.isEmpty()) {
      Member owner = placement.ownerOf(request.key());
      if (!owner.id().equals(self)) {
        if (request.hasFlag(Flags.ROUTED)) {
          return request.reply(Status.NOT_OWNER, 0, owner.address().toString().getBytes(StandardCharsets.US_ASCII),
              placement.epoch(), KeySlot.of(request.key()));
        }
        forwardedBy.add(self);
      }
    }
    String key = new String(request.key(), StandardCharsets.UTF_8);
    return switch (op) {
      case SET -> {
        data.put(key, request.value());
        yield request.replyOk(1);
      }
      case GET -> data.containsKey(key) ? request.replyValue(data.get(key)) : request.reply(Status.NOT_FOUND);
      default -> request.replyOk();
    };
  }

  /** SIZE, FLUSH and SCAN over the keys this node owns; SCAN's cursor is an offset in key order. */
  private Frame nodeWide(String self, Placement placement, Opcode op, Frame request) {
    List<String> own = new ArrayList<>();
    for (String key : new java.util.TreeSet<>(data.keySet())) {
      if (placement.isEmpty() || placement.ownerOf(key.getBytes(StandardCharsets.UTF_8)).id().equals(self)) {
        own.add(key);
      }
    }
    switch (op) {
      case SIZE:
        return request.replyOk(own.size());
      case FLUSH:
        own.forEach(data::remove);
        return request.replyOk();
      default:
        int from = (int) request.extras()[0];
        int to = (int) Math.min(own.size(), from + request.extras()[1]);
        List<byte[]> keys = new ArrayList<>();
        for (String k : own.subList(Math.min(from, own.size()), to)) {
          keys.add(k.getBytes(StandardCharsets.UTF_8));
        }
        return request.replyValue(ListCodec.encodeKeys(keys), to >= own.size() ? 0 : to);
    }
  }

  /** Multi-key requests: each key is logged as its own entry (flags of the request). */
  private Frame multi(String self, Opcode op, Frame request) {
    List<byte[]> items = op == Opcode.MULTI_SET ? ListCodec.decodePairs(request.value()) : ListCodec.decodeKeys(request.value());
    int step = op == Opcode.MULTI_SET ? 2 : 1;
    List<byte[]> values = new ArrayList<>();
    long count = 0;
    for (int i = 0; i < items.size(); i += step) {
      String key = new String(items.get(i), StandardCharsets.UTF_8);
      multiKeys.add(new Received(self, op, request.flags(), key));
      switch (op) {
        case MULTI_SET -> data.put(key, items.get(i + 1));
        case MULTI_GET -> values.add(data.get(key));
        case MULTI_DELETE -> count += data.remove(key) != null ? 1 : 0;
        default -> count += data.containsKey(key) ? 1 : 0;
      }
    }
    return op == Opcode.MULTI_GET ? request.replyValue(ListCodec.encodeValues(values)) : request.replyOk(count);
  }

  /** The CLUSTER_MEMBERS value layout (Opcode javadoc). */
  static byte[] encode(List<ClusterMember> list) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(list.size() >> 8);
    out.write(list.size());
    for (ClusterMember m : list) {
      writeString(out, m.id());
      writeString(out, m.host());
      out.write(m.port() >> 8);
      out.write(m.port());
      out.write(m.state().ordinal());
      for (int shift = 56; shift >= 0; shift -= 8) {
        out.write((int) (m.incarnation() >>> shift));
      }
    }
    return out.toByteArray();
  }

  private static void writeString(ByteArrayOutputStream out, String s) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    out.write(b.length);
    out.write(b, 0, b.length);
  }

  /** Stops one node (it refuses connections from now on). */
  void stop(int node) {
    if (stopped.add(node)) {
      servers.get(node).close();
    }
  }

  @Override
  public void close() {
    for (int i = 0; i < servers.size(); i++) {
      stop(i);
    }
  }
}
