package io.distcache.server.cluster;

import io.distcache.protocol.BufferedPairs;
import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.Status;
import io.distcache.protocol.TransactionCodec;
import io.distcache.protocol.ValueType;
import io.distcache.server.Clock;
import io.distcache.server.pubsub.KeyspaceEvents;
import io.distcache.server.pubsub.PubSubHub;
import io.distcache.server.store.CasResult;
import io.distcache.server.store.ExpireCondition;
import io.distcache.server.store.RedisNumbers;
import io.distcache.server.store.ScanResult;
import io.distcache.server.store.SetArgs;
import io.distcache.server.store.SetResult;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreException;
import io.distcache.server.store.StoreStats;
import io.distcache.server.store.StoredEntry;
import io.distcache.server.store.TypedEntry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: binary request frames are the node's one internal request model (the RESP handler
 * translates Redis commands into them), so this class is the only place where an opcode meets
 * the Store. It parses a frame's key, value and extras as Opcode's javadoc specifies, calls the
 * store, and builds the response with Frame.reply*, which echoes the request id and opcode.
 *
 * It never throws: a store refusal (StoreException) becomes its status from one table, a
 * malformed request (IllegalArgumentException, MalformedListException) becomes BAD_REQUEST, and
 * anything else becomes INTERNAL_ERROR, logged here and nowhere else. Handlers therefore signal
 * bad input by throwing IllegalArgumentException with a message that names the bad value.
 *
 * Times: ttl extras are relative to clock.millis() at execution unless the request sets
 * EXPIRY_ABSOLUTE. The clock is the store's own, so "now" here and in the store agree.
 *
 * Replies stay within the max frame: every value fits one frame by the store's value limit, but a
 * MULTI_GET of many large values may not. Such a reply is answered TOO_LARGE here, before it is
 * encoded, because a frame over the limit makes the receiver's decoder reject it: a client loses
 * the request, and a forwarding peer would see its shared connection fail.
 */

/** Runs binary-protocol requests against the local {@link Store}. Thread-safe when the store is. */
public final class LocalExecutor {
  private static final Logger log = LoggerFactory.getLogger(LocalExecutor.class);

  /** SCAN's count when the request gives none (Redis' default). */
  static final int DEFAULT_SCAN_COUNT = 10;
  /** The largest count one SCAN step honours (see ProtocolConstants). */
  static final int MAX_SCAN_COUNT = ProtocolConstants.MAX_SCAN_COUNT;

  /** How each store refusal is reported; every Reason has a row. */
  private static final Map<StoreException.Reason, Status> STATUS_BY_REASON = new EnumMap<>(StoreException.Reason.class);

  static {
    STATUS_BY_REASON.put(StoreException.Reason.NOT_A_NUMBER, Status.NOT_A_NUMBER);
    STATUS_BY_REASON.put(StoreException.Reason.OVERFLOW, Status.OVERFLOW);
    STATUS_BY_REASON.put(StoreException.Reason.TOO_LARGE, Status.TOO_LARGE);
    STATUS_BY_REASON.put(StoreException.Reason.OUT_OF_MEMORY, Status.OUT_OF_MEMORY);
    STATUS_BY_REASON.put(StoreException.Reason.WRONG_TYPE, Status.WRONG_TYPE);
  }

  private final Store store;
  private final Clock clock;
  private final int maxFrameBytes;
  private final ScriptHost scripts;
  private final TransactionGate gate;
  private final BitRequests bits;
  private final KeyRequests keyOps;
  private final HashRequests hashes;
  private final SetRequests sets;
  private final ZSetRequests zsets;
  private final KeyWaits keyWaits = new KeyWaits(KeyWaits.DEFAULT_MAX_PARKED);

  /** An executor whose replies stay within the default max frame. */
  public LocalExecutor(Store store) {
    this(store, ProtocolConstants.DEFAULT_MAX_FRAME_BYTES);
  }

  /** An executor whose replies stay within {@code maxFrameBytes} (MULTI_GET beyond it is TOO_LARGE). */
  public LocalExecutor(Store store, int maxFrameBytes) {
    this(store, maxFrameBytes, ProtocolConstants.MAX_COLLECTION_ELEMENTS);
  }

  /** Also with the most fields per hash and members per set or sorted set. */
  public LocalExecutor(Store store, int maxFrameBytes, int maxCollectionElements) {
    if (maxCollectionElements < 1 || maxCollectionElements > ProtocolConstants.MAX_COLLECTION_ELEMENTS_LIMIT) {
      throw new IllegalArgumentException("max collection elements: expected 1.."
          + ProtocolConstants.MAX_COLLECTION_ELEMENTS_LIMIT + ", got " + maxCollectionElements);
    }
    if (store == null) {
      throw new IllegalArgumentException("store cannot be null");
    }
    if (maxFrameBytes < ProtocolConstants.HEADER_BYTES) {
      throw new IllegalArgumentException(
          "maxFrameBytes " + maxFrameBytes + " is below the header size " + ProtocolConstants.HEADER_BYTES);
    }
    this.store = store;
    this.clock = store.config().clock();
    this.maxFrameBytes = maxFrameBytes;
    this.scripts = new ScriptHost(clock);
    this.gate = new TransactionGate(scripts);
    this.bits = new BitRequests(store, gate);
    this.keyOps = new KeyRequests(store, gate);
    this.hashes = new HashRequests(store, gate, maxCollectionElements);
    this.sets = new SetRequests(store, gate, maxCollectionElements);
    this.zsets = new ZSetRequests(store, gate, maxCollectionElements);
  }

  /**
   * The most bytes of sources one set or sorted-set command over several keys may load (SINTER,
   * ZUNION, ...); an eighth of the heap unless set.
   */
  public void maxAlgebraLoadBytes(long bytes) {
    if (bytes <= 0) {
      throw new IllegalArgumentException("the algebra load bound must be positive: " + bytes);
    }
    sets.maxLoadBytes(bytes);
    zsets.maxLoadBytes(bytes);
  }

  /** The node's limit on its heap budgets together, where set and sorted-set commands' sources count too. */
  public void heapBudgets(io.distcache.server.HeapBudgets heap) {
    sets.heapBudgets(heap);
    zsets.heapBudgets(heap);
  }

  /** The clients blocking pops parked on this node (the Redis side parks them; writes here wake them). */
  public KeyWaits keyWaits() {
    return keyWaits;
  }

  /** Where this node's scripts run (the Redis side installs the Lua engine in it). */
  public ScriptHost scripts() {
    return scripts;
  }

  /** The largest frame this node sends or accepts. */
  public int maxFrameBytes() {
    return maxFrameBytes;
  }

  /**
   * The response to {@code request}; never throws, never returns null. Holds the request's keys in
   * the {@link TransactionGate} (shared) while it runs, so it never runs inside a TRANSACTION on
   * them.
   */
  public Frame execute(Frame request) {
    try {
      return executeGated(request);
    } catch (ScriptBusyException e) {
      return request.replyError(Status.SCRIPT_BUSY, scripts.busyMessage());
    }
  }

  /**
   * True when {@code request} would wait for a script holding the node if run now: it takes key
   * stripes of the TransactionGate (a keyed request, a multi-key one, or one that takes its own) or
   * the keyspace barrier, as {@link #executeGated} does. Not SCRIPT (the lane queues it), SCRIPT_KILL,
   * a shard channel's publish (its key is a channel) nor the keyless rest (PING, STATS, AUTH,
   * membership and replication traffic). A connection parks such a request off its event loop
   * while the node is held (net/BinaryRequestHandler).
   */
  public static boolean waitsForScript(Frame request) {
    Opcode op = request.op();
    if (op == null) {
      return false;
    }
    return switch (op) {
      case SCRIPT, SCRIPT_KILL, SHARD_PUBLISH -> false;
      case TRANSACTION, BITS, KEY_OP, HASH, SETS, ZSETS, SCAN, SIZE, RANDOM_KEY, FLUSH, MULTI_GET, MULTI_SET,
          MULTI_SET_IF_ABSENT, MULTI_DELETE, MULTI_EXISTS -> true;
      default -> op.keyed();
    };
  }

  private Frame executeGated(Frame request) {
    Opcode op = request.op();
    KeyspaceEvents ev = events;
    if (ev != null && ev.enabled(KeyspaceEvents.NEW) && KeyspaceNotifier.mayCreateKeys(request)) {
      // Class n: whether a key was absent is asked before the request runs, and "new" sent after
      // it. Under shared stripes (or before a request took its own) two writers creating one key
      // both found it absent and both sent "new"; run alone on its keys' stripes, as one request
      // of a TRANSACTION runs, a creator's ask, write and event are one step for those keys.
      // Only while class n is on: otherwise this costs a plain write one volatile read.
      long mask = aloneMask(request);
      if (mask != 0) {
        long[] stamps = gate.lockAll(mask, true);
        try {
          return run(request, true);
        } finally {
          gate.unlockAll(mask, stamps);
        }
      }
    }
    if (op == null || op == Opcode.TRANSACTION || op == Opcode.BITS || op == Opcode.KEY_OP || op == Opcode.HASH
        || op == Opcode.SETS || op == Opcode.ZSETS || op == Opcode.SCRIPT) {
      return run(request, false); // these take their keys' stripes themselves
    }
    if (op == Opcode.SCAN || op == Opcode.SIZE || op == Opcode.RANDOM_KEY || op == Opcode.FLUSH) {
      try (ScriptHost.Keyspace held = scripts.keyspaceShared()) {
        return run(request, false); // node-wide: never between a script's calls (ScriptHost)
      }
    }
    if (op.keyed()) {
      int stripe = TransactionGate.stripe(request.key());
      long stamp = gate.lockShared(stripe);
      try {
        return run(request, false);
      } finally {
        gate.unlockShared(stripe, stamp);
      }
    }
    List<byte[]> keys = BatchKeys.multiKeys(request);
    if (keys == null || keys.isEmpty()) {
      return run(request, false); // keyless, or a malformed list that run() answers BAD_REQUEST
    }
    long mask = TransactionGate.mask(keys);
    long[] stamps = gate.lockAll(mask, false);
    try {
      return run(request, false);
    } finally {
      gate.unlockAll(mask, stamps);
    }
  }

  /** The stripes of every key {@code request} names (BatchKeys); 0 for a malformed one, which run() answers. */
  private static long aloneMask(Frame request) {
    List<byte[]> keys = new ArrayList<>(2);
    try {
      BatchKeys.addKeys(request, keys);
    } catch (IllegalArgumentException | ListCodec.MalformedListException e) {
      return 0;
    }
    for (byte[] k : keys) {
      if (k == null) {
        return 0;
      }
    }
    return TransactionGate.mask(keys);
  }

  /**
   * Runs a request; the caller holds the gate stripes it needs, except that TRANSACTION, BITS and
   * KEY_OP take their own unless {@code inTransaction} (the batch holds them already).
   */
  private Frame run(Frame request, boolean inTransaction) {
    Opcode op = request.op();
    if (op == null) {
      return request.replyError(Status.UNKNOWN_OPCODE, String.format("unknown opcode 0x%02x", request.opcode() & 0xFF));
    }
    Frame reply;
    // Class n ("new"): which keys the request may create were absent before it ran, asked only
    // while some class is on (KeyspaceNotifier.absentBefore asks only what the enabled classes need).
    KeyspaceEvents before = events;
    KeyspaceNotifier.Absent absent = before != null && before.flags() != 0
        ? KeyspaceNotifier.absentBefore(before, store, request) : KeyspaceNotifier.Absent.NONE;
    try {
      reply = switch (op) {
        case PING -> request.replyValue(request.value());
        case GET -> get(request);
        case SET -> set(request);
        case DELETE -> found(request, store.delete(request.key()));
        case EXISTS -> found(request, store.exists(request.key()));
        case EXPIRE -> expire(request);
        case PERSIST -> persist(request);
        case TTL -> ttl(request);
        case GET_AND_SET -> getAndSet(request);
        case GET_AND_DELETE -> getAndDelete(request);
        case INCREMENT -> increment(request);
        case INCREMENT_FLOAT -> incrementFloat(request);
        case APPEND -> append(request);
        case COMPARE_AND_SET -> compareAndSet(request);
        case STRLEN -> request.replyOk(store.strlen(request.key()));
        case GET_RANGE -> getRange(request);
        case SET_RANGE -> setRange(request);
        case MULTI_GET -> multiGet(request);
        case MULTI_SET -> multiSet(request);
        case MULTI_SET_IF_ABSENT -> multiSetIfAbsent(request);
        case MULTI_DELETE -> multiDelete(request);
        case MULTI_EXISTS -> multiExists(request);
        case SCAN -> scan(request);
        case FLUSH -> flush(request);
        case SIZE -> request.replyOk(store.size());
        case STATS -> stats(request);
        case RANDOM_KEY -> randomKey(request);
        case TRANSACTION -> transaction(request);
        case VERSION -> version(request);
        case BITS -> bits.run(request, !inTransaction);
        case KEY_OP -> keyOps.run(request, !inTransaction);
        case HASH -> hashes.run(request, !inTransaction);
        case SETS -> sets.run(request, !inTransaction);
        case ZSETS -> zsets.run(request, !inTransaction);
        // In a batch, a script runs under the hold the batch took (ScriptHost.holdingAll); a
        // script's own calls never get here (ScriptHost refuses SCRIPT from a script).
        case SCRIPT -> inTransaction ? scripts.runHeld(request, r -> run(r, true))
            : scripts.run(request, gate, r -> run(r, true));
        case SCRIPT_KILL -> scripts.kill(request);
        // Membership traffic is answered by the cluster layer before a request reaches the store;
        // one that gets here was sent to a node that runs without it.
        case CLUSTER_GOSSIP, CLUSTER_MEMBERS, CLUSTER_OWNER, PEER_HELLO, REPLICATE, REPLICA_SYNC, REPLICA_LACKS,
            MIGRATE_PREPARE, FUNCTION_SYNC ->
            request.replyError(Status.BAD_REQUEST, op + " is a cluster message; this node has no cluster layer to answer it");
        // AUTH is answered by the connection (net/BinaryAuth) on a node with users; a server built
        // without them has no password to check.
        case AUTH -> request.replyError(Status.BAD_REQUEST, "AUTH called without any password configured on this node");
        case PUBSUB_PUBLISH -> peerPublish(request);
        case SHARD_PUBLISH -> shardPublish(request);
        case TRACK_REGISTER, TRACK_INVALIDATE -> tracking(request);
        // Connection state, answered by the binary connection before routing (net/BinaryTracking).
        case TRACKING, INVALIDATE -> request.replyError(Status.BAD_REQUEST,
            op + " is answered by a client connection; it cannot be routed or forwarded");
      };
    } catch (ScriptBusyException e) {
      return request.replyError(Status.SCRIPT_BUSY, scripts.busyMessage());
    } catch (StoreException e) {
      return request.replyError(STATUS_BY_REASON.get(e.reason()), e.getMessage());
    } catch (IllegalArgumentException | ListCodec.MalformedListException e) {
      return request.replyError(Status.BAD_REQUEST, e.getMessage());
    } catch (RuntimeException e) {
      log.error("{} request failed inside the node", op, e);
      return request.replyError(Status.INTERNAL_ERROR, "internal error in " + op + ": " + e);
    }
    if (keyWaits.parked() > 0 && reply.status() == Status.OK) {
      wakeWaiters(request);
    }
    KeyspaceEvents ev = events;
    if (ev != null && ev.flags() != 0) {
      try {
        KeyspaceNotifier.after(ev, store, request, reply, absent);
      } catch (RuntimeException e) {
        // The write is done and must be acknowledged; only its notification is lost.
        log.warn("keyspace notification for {} failed", op, e);
      }
    }
    return reply;
  }

  /*
   * The writes that can give a key members a blocked pop waits for: ZADD (ZINCRBY), the sorted-set
   * STORE forms (their key is the destination), and RENAME/COPY (the destination). A transaction's
   * and a script's writes come through run() one by one.
   */
  private void wakeWaiters(Frame r) {
    if (r.op() == Opcode.ZSETS) {
      long command = r.extra(0, -1);
      if (command == io.distcache.protocol.SortedSets.ZADD || command >= io.distcache.protocol.SortedSets.ZUNIONSTORE
          && command <= io.distcache.protocol.SortedSets.ZRANGESTORE) {
        keyWaits.written(List.of(r.key()));
      }
    } else if (r.op() == Opcode.KEY_OP) {
      keyWaits.written(Replicator.writtenKeys(r));
    }
  }

  // ---- client tracking ----

  private volatile io.distcache.server.tracking.ClusterTracking tracking;

  /** Connects TRACK_REGISTER and TRACK_INVALIDATE from peers to the node's tracking. */
  public void tracking(io.distcache.server.tracking.ClusterTracking tracking) {
    this.tracking = tracking;
  }

  private Frame tracking(Frame r) {
    io.distcache.server.tracking.ClusterTracking t = tracking;
    if (t == null) {
      return r.replyError(Status.BAD_REQUEST, r.op() + ": this node has no client tracking");
    }
    return t.handle(r);
  }

  // ---- pub/sub ----

  private volatile PubSubHub pubSub;
  private volatile KeyspaceEvents events;

  /**
   * Connects the node's pub/sub: SHARD_PUBLISH and peers' PUBSUB_PUBLISH deliver to {@code hub}, and
   * writes publish their keyspace events to {@code events} while a class is on.
   */
  public void pubSub(PubSubHub hub, KeyspaceEvents events) {
    this.pubSub = hub;
    this.events = events;
    hashes.events(events); // "hexpired" when a write or the sweep removes expired fields
  }

  private Frame peerPublish(Frame r) {
    PubSubHub hub = pubSub;
    if (hub == null) {
      return r.replyError(Status.BAD_REQUEST, "PUBSUB_PUBLISH: this node has no pub/sub");
    }
    long kind = r.extra(0, Opcode.PUBLISH_KIND_GLOBAL);
    if (kind == Opcode.PUBLISH_KIND_GLOBAL) {
      return r.replyOk(hub.deliver(r.key(), r.value()));
    }
    if (kind == Opcode.PUBLISH_KIND_SHARD) {
      return r.replyOk(hub.deliverShard(r.key(), r.value()));
    }
    throw new IllegalArgumentException("PUBSUB_PUBLISH kind " + kind + " is not 0 (PUBLISH) or 1 (SPUBLISH)");
  }

  private Frame shardPublish(Frame r) {
    PubSubHub hub = pubSub;
    if (hub == null) {
      return r.replyError(Status.BAD_REQUEST, "SHARD_PUBLISH: this node has no pub/sub");
    }
    return r.replyOk(hub.publishShard(r.key(), r.value()));
  }

  // ---- single key ----

  private Frame get(Frame r) {
    if (r.hasFlag(Flags.WITH_META)) {
      StoredEntry e = store.getEntry(r.key());
      return e == null ? r.reply(Status.NOT_FOUND) : r.replyValue(e.value(), e.version(), e.expireAtMillis());
    }
    io.distcache.protocol.ValueSink sink = r.sink();
    if (sink != null && sink.accepts(r.key())) {
      // The requester takes the value where it stands (one copy, no heap array: ValueSink).
      return store.readValue(r.key(), sink) ? r.replyOk() : r.reply(Status.NOT_FOUND);
    }
    byte[] value = store.get(r.key());
    return value == null ? r.reply(Status.NOT_FOUND) : r.replyValue(value);
  }

  private Frame set(Frame r) {
    boolean ifAbsent = r.hasFlag(Flags.IF_ABSENT);
    boolean ifPresent = r.hasFlag(Flags.IF_PRESENT);
    if (ifAbsent && ifPresent) {
      throw new IllegalArgumentException("SET flags IF_ABSENT and IF_PRESENT cannot be combined");
    }
    boolean keepTtl = r.hasFlag(Flags.KEEP_TTL);
    long ttl = r.extra(0, 0);
    if (keepTtl && ttl != 0) {
      throw new IllegalArgumentException("SET with KEEP_TTL cannot also set a ttl: " + ttl);
    }
    SetArgs.Condition condition =
        ifAbsent ? SetArgs.Condition.IF_ABSENT : ifPresent ? SetArgs.Condition.IF_PRESENT : SetArgs.Condition.ALWAYS;
    boolean returnPrevious = r.hasFlag(Flags.RETURN_PREVIOUS);
    SetArgs args = new SetArgs(condition, expiry(r, ttl), keepTtl, returnPrevious);
    SetResult res = store(r, args);
    Status status = res.written() ? Status.OK : Status.CONDITION_FAILED;
    long[] extras = res.written() ? new long[] {res.version()} : Frame.NO_EXTRAS;
    return withPrevious(r, status, res.previous(), extras);
  }

  private Frame getAndSet(Frame r) {
    SetArgs args = new SetArgs(SetArgs.Condition.ALWAYS, expiry(r, r.extra(0, 0)), false, true);
    return withPrevious(r, Status.OK, store(r, args).previous());
  }

  /**
   * SET's and GETSET's store call. A value still in its connection's buffer is copied from there
   * into the store (BufferedValue); a previous value asked for by a requester that can take it where
   * it lies (ValueSink) is lent to it instead of copied into the result (SetResult.LENT), so neither
   * crosses the heap as an array of its size.
   */
  private SetResult store(Frame r, SetArgs args) {
    io.distcache.protocol.BufferedValue buffered = r.buffered();
    io.distcache.protocol.ValueSink sink = r.sink();
    SetResult res;
    if (args.returnPrevious() && sink != null && sink.accepts(r.key())) {
      res = store.setLendingPrevious(r.key(), buffered != null ? null : r.value(), buffered, args, sink);
    } else {
      res = buffered != null ? store.set(r.key(), buffered, args) : store.set(r.key(), r.value(), args);
    }
    if (buffered != null) {
      buffered.stored(); // served: its reply may wait for the replicas, its value is not read again
    }
    return res;
  }

  /**
   * A reply whose value is the previous value, flagged PREVIOUS_PRESENT when there was one; empty
   * when it was lent to the requester's sink (SetResult.LENT).
   */
  private static Frame withPrevious(Frame r, Status status, byte[] previous, long... extras) {
    return previous == null
        ? r.reply(status, 0, Frame.EMPTY, extras)
        : r.reply(status, Flags.PREVIOUS_PRESENT, previous, extras);
  }

  private Frame getAndDelete(Frame r) {
    io.distcache.protocol.ValueSink sink = r.sink();
    if (sink != null && sink.accepts(r.key())) {
      // Lent to the requester before the entry dies, as GET's (ValueSink): no heap array.
      return store.getAndDelete(r.key(), sink) ? r.replyOk() : r.reply(Status.NOT_FOUND);
    }
    byte[] value = store.getAndDelete(r.key());
    return value == null ? r.reply(Status.NOT_FOUND) : r.replyValue(value);
  }

  private static Frame found(Frame r, boolean found) {
    return r.reply(found ? Status.OK : Status.NOT_FOUND);
  }

  private Frame increment(Frame r) {
    long delta = required(r, 0, "delta");
    return r.replyOk(store.incrementBy(r.key(), delta));
  }

  private Frame incrementFloat(Frame r) {
    double delta = RedisNumbers.parseDouble(r.value());
    return r.replyValue(store.incrementByFloat(r.key(), delta));
  }

  private Frame compareAndSet(Frame r) {
    long expected = required(r, 0, "expected version");
    CasResult res = store.compareAndSet(r.key(), expected, r.value(), expiry(r, r.extra(1, 0)));
    return switch (res.outcome()) {
      case WRITTEN -> r.replyOk(res.version());
      case VERSION_MISMATCH -> r.reply(Status.VERSION_MISMATCH, 0, Frame.EMPTY, res.version());
      case NOT_FOUND -> r.reply(Status.NOT_FOUND);
    };
  }

  private Frame append(Frame r) {
    io.distcache.protocol.BufferedValue buffered = r.buffered();
    if (buffered == null) {
      return r.replyOk(store.append(r.key(), r.value()));
    }
    long length = store.append(r.key(), buffered); // from the connection's buffer, as SET's value
    buffered.stored();
    return r.replyOk(length);
  }

  private Frame getRange(Frame r) {
    long start = required(r, 0, "start");
    long end = required(r, 1, "end");
    return r.replyValue(store.getRange(r.key(), start, end));
  }

  private Frame setRange(Frame r) {
    long offset = required(r, 0, "offset");
    return r.replyOk(store.setRange(r.key(), offset, r.value()));
  }

  // ---- expiry ----

  private Frame expire(Frame r) {
    long ttl = required(r, 0, "ttl");
    ExpireCondition condition = expireCondition(r.extra(1, 0));
    long when;
    if (r.hasFlag(Flags.EXPIRY_ABSOLUTE)) {
      when = ttl;
    } else if (ttl <= 0) {
      // Already due, so the store deletes the key (Redis EXPIRE with a ttl <= 0). A non-negative
      // clock plus a non-positive ttl cannot overflow.
      when = clock.millis() + ttl;
    } else {
      when = relativeToAbsolute(ttl);
    }
    if (store.expireAt(r.key(), when, condition)) {
      return r.replyOk();
    }
    return r.reply(store.exists(r.key()) ? Status.CONDITION_FAILED : Status.NOT_FOUND);
  }

  private static ExpireCondition expireCondition(long code) {
    if (code == 0) {
      return ExpireCondition.ALWAYS;
    } else if (code == 1) {
      return ExpireCondition.NX;
    } else if (code == 2) {
      return ExpireCondition.XX;
    } else if (code == 3) {
      return ExpireCondition.GT;
    } else if (code == 4) {
      return ExpireCondition.LT;
    }
    throw new IllegalArgumentException("expire condition " + code + " is not one of 0..4 (always, NX, XX, GT, LT)");
  }

  private Frame persist(Frame r) {
    if (store.persist(r.key())) {
      return r.replyOk();
    }
    return r.reply(store.exists(r.key()) ? Status.CONDITION_FAILED : Status.NOT_FOUND);
  }

  private Frame ttl(Frame r) {
    long expireAt = store.expireTimeMillis(r.key());
    if (expireAt == Store.KEY_MISSING) {
      return r.reply(Status.NOT_FOUND);
    }
    if (expireAt == Store.NO_TTL) {
      return r.replyOk(-1, -1);
    }
    // The store saw the key alive; a clock that moved since must not make the answer negative.
    return r.replyOk(Math.max(0, expireAt - clock.millis()), expireAt);
  }

  /** A ttl extra of SET-like opcodes as the store's expireAtMillis: 0 is none, negative is refused. */
  private long expiry(Frame r, long ttl) {
    if (ttl == 0) {
      return Store.NO_EXPIRY;
    }
    if (ttl < 0) {
      throw new IllegalArgumentException("ttl cannot be negative: " + ttl);
    }
    return r.hasFlag(Flags.EXPIRY_ABSOLUTE) ? ttl : relativeToAbsolute(ttl);
  }

  private long relativeToAbsolute(long ttlMillis) {
    long now = clock.millis();
    if (ttlMillis > Long.MAX_VALUE - now) {
      throw new IllegalArgumentException("ttl " + ttlMillis + " ms is too far in the future");
    }
    return now + ttlMillis;
  }

  // ---- multi key ----

  private Frame multiGet(Frame r) {
    List<byte[]> keys = ListCodec.decodeKeys(r.value());
    // The values' bytes alone bound what is copied (the frame adds 4 per value and a header): a
    // reply that cannot fit is refused before its values are all on the heap.
    List<byte[]> values = store.getAll(keys, maxFrameBytes);
    if (values == null) {
      return r.replyError(Status.TOO_LARGE, "MULTI_GET reply of more than " + maxFrameBytes + " bytes for "
          + keys.size() + " keys exceeds the max frame " + maxFrameBytes + "; ask for fewer keys at a time");
    }
    Frame tooLarge = multiGetTooLarge(r, values, maxFrameBytes);
    return tooLarge != null ? tooLarge : r.replyValue(ListCodec.encodeValues(values));
  }

  /**
   * TOO_LARGE naming the size and the limit when the MULTI_GET reply carrying {@code values} would
   * be a frame over {@code maxFrameBytes}; null when it fits. Counted in long, before encoding, so
   * an oversize reply is never built.
   */
  static Frame multiGetTooLarge(Frame request, List<byte[]> values, int maxFrameBytes) {
    long bytes = ProtocolConstants.HEADER_BYTES + 4L;
    for (byte[] v : values) {
      bytes += 4L + (v == null ? 0 : v.length);
    }
    if (bytes <= maxFrameBytes) {
      return null;
    }
    return request.replyError(Status.TOO_LARGE, "MULTI_GET reply of " + bytes + " bytes for " + values.size()
        + " keys exceeds the max frame " + maxFrameBytes + "; ask for fewer keys at a time");
  }

  private Frame multiSet(Frame r) {
    long expireAt = expiry(r, r.extra(0, 0));
    if (r.buffered() != null) {
      // A pair list whose values are in buffers: each copied from there into the store (BufferedPairs).
      BufferedPairs.Pairs pairs = BufferedPairs.split(r.buffered());
      try {
        store.setAllBuffered(pairs.keys(), pairs.values(), expireAt);
      } finally {
        pairs.release();
      }
      r.buffered().stored();
      return r.replyOk();
    }
    List<byte[]> pairs = ListCodec.decodePairs(r.value());
    store.setAll(evens(pairs), odds(pairs), expireAt);
    return r.replyOk();
  }

  private Frame multiSetIfAbsent(Frame r) {
    boolean written;
    if (r.buffered() != null) {
      BufferedPairs.Pairs pairs = BufferedPairs.split(r.buffered());
      try {
        written = store.setAllIfAbsentBuffered(pairs.keys(), pairs.values());
      } finally {
        pairs.release();
      }
      r.buffered().stored();
    } else {
      List<byte[]> pairs = ListCodec.decodePairs(r.value());
      written = store.setAllIfAbsent(evens(pairs), odds(pairs));
    }
    return r.reply(written ? Status.OK : Status.CONDITION_FAILED);
  }

  private Frame multiDelete(Frame r) {
    long deleted = 0;
    KeyspaceEvents ev = events;
    for (byte[] key : ListCodec.decodeKeys(r.value())) {
      if (store.delete(key)) {
        deleted++;
        if (ev != null && ev.enabled(KeyspaceEvents.GENERIC)) {
          ev.notify(KeyspaceEvents.GENERIC, "del", key);
        }
      }
    }
    return r.replyOk(deleted);
  }

  /** Counts a key once per mention, as Redis EXISTS does. */
  private Frame multiExists(Frame r) {
    long existing = 0;
    for (byte[] key : ListCodec.decodeKeys(r.value())) {
      if (store.exists(key)) {
        existing++;
      }
    }
    return r.replyOk(existing);
  }

  private static List<byte[]> evens(List<byte[]> pairs) {
    List<byte[]> out = new ArrayList<>(pairs.size() / 2);
    for (int i = 0; i < pairs.size(); i += 2) {
      out.add(pairs.get(i));
    }
    return out;
  }

  private static List<byte[]> odds(List<byte[]> pairs) {
    List<byte[]> out = new ArrayList<>(pairs.size() / 2);
    for (int i = 1; i < pairs.size(); i += 2) {
      out.add(pairs.get(i));
    }
    return out;
  }

  // ---- whole store ----

  /**
   * A SCAN step whose reply fits the max frame. Keys are up to 64 KiB, so MAX_SCAN_COUNT of them
   * could make a reply of 640 MiB: when the keys of a step would not fit, the same step is taken
   * again from the same cursor with half the count (count is only a hint, and a step that returns
   * fewer keys just ends at an earlier cursor), down to one key; TOO_LARGE only if even that is too
   * much, which a frame limit that can carry a key (DistCacheNode checks it) never allows.
   */
  private Frame scan(Frame r) {
    long cursor = r.extra(0, 0);
    long count = r.extra(1, 0);
    int hint = count <= 0 ? DEFAULT_SCAN_COUNT : (int) Math.min(count, MAX_SCAN_COUNT);
    while (true) {
      ScanResult res = store.scan(cursor, hint);
      long typeFilter = r.extra(2, 0);
      if (typeFilter > 0) {
        ValueType wanted = ValueType.fromCode(typeFilter - 1);
        List<byte[]> kept = new ArrayList<>(res.keys());
        kept.removeIf(k -> store.typeOf(k) != wanted);
        res = new ScanResult(res.nextCursor(), kept);
      }
      long bytes = ProtocolConstants.HEADER_BYTES + 8L + 4L;
      for (byte[] key : res.keys()) {
        bytes += 4L + key.length;
      }
      if (bytes <= maxFrameBytes) {
        return r.replyValue(ListCodec.encodeKeys(res.keys()), res.nextCursor());
      }
      if (hint == 1) {
        return r.replyError(Status.TOO_LARGE, "SCAN reply of " + bytes + " bytes for " + res.keys().size()
            + " keys exceeds the max frame " + maxFrameBytes + " even at count 1");
      }
      hint = Math.max(1, hint / 2);
    }
  }

  private Frame flush(Frame r) {
    store.flush();
    return r.replyOk();
  }

  private Frame stats(Frame r) {
    StoreStats s = store.stats();
    String text = "hits:" + s.hits() + "\n"
        + "misses:" + s.misses() + "\n"
        + "expired:" + s.expired() + "\n"
        + "evicted:" + s.evicted() + "\n"
        + "entries:" + s.entries() + "\n"
        + "bytes_used:" + s.bytesUsed() + "\n"
        + "bytes_max:" + s.bytesMax() + "\n";
    return r.replyValue(text.getBytes(StandardCharsets.UTF_8));
  }

  private Frame randomKey(Frame r) {
    byte[] key = store.randomKey();
    return key == null ? r.reply(Status.NOT_FOUND) : r.replyValue(key);
  }

  // ---- transactions ----

  private Frame version(Frame r) {
    TypedEntry e = store.getTyped(r.key());
    return e == null ? r.reply(Status.NOT_FOUND) : r.replyOk(e.version(), e.expireAtMillis());
  }

  /*
   * A TRANSACTION: every key it names (conditions and requests) is locked exclusive in the gate,
   * the conditions are checked, and only when all hold do the requests run, in order, each
   * answered as it would be alone (a request's error fails only that request, as in Redis). A
   * reply too large for one frame is refused only after the requests ran, so its message says so;
   * runBatch stops keeping replies once they pass the frame, so that is decided there.
   *
   * A batch holding a SCRIPT (a Redis EXEC with EVAL or FCALL) cannot know the keys its scripts
   * will touch: it takes the hold a script takes instead (every stripe and the keyspace barrier,
   * ScriptHost.holdingAll), on the script lane where the router sent it.
   */
  private Frame transaction(Frame r) {
    TransactionCodec.Batch batch = TransactionCodec.decodeRequest(r.value());
    List<byte[]> keys = BatchKeys.of(batch); // refuses what cannot be batched before anything runs
    List<Frame> replies = new ArrayList<>(batch.requests().size());
    Frame failed;
    if (TransactionCodec.holds(r.value(), Opcode.SCRIPT)) {
      failed = scripts.holdingAll(gate, () -> runBatch(r, batch, replies));
    } else {
      long mask = TransactionGate.mask(keys);
      long[] stamps = gate.lockAll(mask, true);
      try {
        failed = runBatch(r, batch, replies);
      } finally {
        gate.unlockAll(mask, stamps);
      }
    }
    if (failed != null) {
      return failed; // a condition failed, or the replies passed the frame limit (runBatch)
    }
    return r.replyValue(TransactionCodec.encodeReplies(replies));
  }

  /** Checks the batch's conditions and runs its requests into {@code replies}; CONDITION_FAILED when one fails. */
  private Frame runBatch(Frame r, TransactionCodec.Batch batch, List<Frame> replies) {
    for (TransactionCodec.Condition c : batch.conditions()) {
      if (!holds(c)) {
        return r.reply(Status.CONDITION_FAILED);
      }
    }
    Frame full = refusedForMemory(r, batch);
    if (full != null) {
      return full;
    }
    // Every request runs (the batch is atomic), but once the replies pass the frame limit they are
    // not kept: sixty GETs of 16 MiB values kept on the heap killed a node with a 512 MiB heap.
    long bytes = ProtocolConstants.HEADER_BYTES + 4L;
    for (Frame request : batch.requests()) {
      Frame reply = run(request, true);
      if (bytes <= maxFrameBytes) {
        bytes += TransactionCodec.itemSize(reply);
        replies.add(reply);
      }
    }
    if (bytes > maxFrameBytes) {
      replies.clear();
      return r.replyError(Status.TOO_LARGE, "the transaction ran, but its reply of more than " + maxFrameBytes
          + " bytes exceeds the max frame " + maxFrameBytes + "; read large values outside transactions");
    }
    return null;
  }

  /** What a stored entry costs beyond its key and value, for the estimate below. */
  private static final int ENTRY_ESTIMATE_OVERHEAD = 64;

  /**
   * Under noeviction, a batch whose writes would not fit in the memory left is refused whole,
   * before any of them runs: run one by one, the first ones applied and a later one failed with
   * OUT_OF_MEMORY, a transaction half applied (an auditor, with MULTI SET/HSET/SADD on a full node).
   * Redis refuses a write while over maxmemory when it is queued, so its EXEC then runs nothing. An
   * estimate (each write's key and value and an entry's overhead): a write that grows a collection
   * by less than its arguments fits the same test. With eviction, writes make room as they go.
   */
  private Frame refusedForMemory(Frame r, TransactionCodec.Batch batch) {
    if (store.config().policy() != io.distcache.server.store.EvictionPolicy.NOEVICTION) {
      return null;
    }
    long needed = 0;
    for (Frame request : batch.requests()) {
      if (request.op() != null && !request.op().readOnly()) {
        needed += ENTRY_ESTIMATE_OVERHEAD + (request.key() == null ? 0 : request.key().length)
            + (request.value() == null ? 0 : request.value().length);
      }
    }
    if (needed == 0) {
      return null;
    }
    io.distcache.server.store.StoreStats stats = store.stats();
    if (stats.bytesUsed() + needed <= stats.bytesMax()) {
      return null;
    }
    return r.replyError(Status.OUT_OF_MEMORY, "the transaction's writes need about " + needed + " bytes, but "
        + (stats.bytesMax() - stats.bytesUsed()) + " of " + stats.bytesMax() + " are free (--max-memory, noeviction);"
        + " nothing was applied");
  }

  private boolean holds(TransactionCodec.Condition c) {
    TypedEntry e = store.getTyped(c.key());
    if (e == null) {
      return c.version() == TransactionCodec.ABSENT;
    }
    return e.version() == c.version()
        && (c.expireAtMillis() == TransactionCodec.ANY_EXPIRY || e.expireAtMillis() == c.expireAtMillis());
  }

  /** Extra {@code index}, which this opcode needs. */
  private static long required(Frame r, int index, String name) {
    if (r.extras().length <= index) {
      throw new IllegalArgumentException(
          r.op() + " needs extra " + index + " (" + name + "), but the request has " + r.extras().length + " extras");
    }
    return r.extras()[index];
  }
}
