package io.distcache.protocol;

/**
 * Every operation of the binary protocol. The layout of each request and response (which of key,
 * value and extras are used) is in docs/PROTOCOL.md; the short form is here.
 *
 * <p>Extras are big-endian signed 64-bit integers. "ttl" extras are milliseconds relative to the
 * receipt of the request, 0 meaning no expiry, unless the request sets {@link Flags#EXPIRY_ABSOLUTE},
 * in which case they are absolute Unix milliseconds.
 */
public enum Opcode {
  /**
   * value: optional payload → OK, value echoed. With extras:[{@link
   * ProtocolConstants#PING_ASKS_LEAVING}] (member to member) → OK extras:[1 when the receiver's
   * graceful leave has begun, else 0; 1 when it is departing, else 0].
   */
  PING(0x01, false),
  /** key; flag WITH_META → OK value [extras: version, expireAtMillis (0 = none)] | NOT_FOUND. */
  GET(0x02, true),
  /**
   * key value extras:[ttl]; flags IF_ABSENT, IF_PRESENT, KEEP_TTL, RETURN_PREVIOUS → OK extras:[version]
   * | CONDITION_FAILED; with RETURN_PREVIOUS the previous value, flagged PREVIOUS_PRESENT.
   */
  SET(0x03, true),
  /** key → OK | NOT_FOUND. */
  DELETE(0x04, true),
  /** key → OK | NOT_FOUND. */
  EXISTS(0x05, true),
  /** key extras:[ttl, condition 0=always 1=NX 2=XX 3=GT 4=LT] → OK | CONDITION_FAILED | NOT_FOUND. */
  EXPIRE(0x06, true),
  /** key → OK (expiry removed) | CONDITION_FAILED (had none) | NOT_FOUND. */
  PERSIST(0x07, true),
  /** key → OK extras:[remaining ms or -1, expireAtMillis or -1] | NOT_FOUND. */
  TTL(0x08, true),
  /** key value extras:[ttl] → OK, previous value flagged PREVIOUS_PRESENT. */
  GET_AND_SET(0x09, true),
  /** key → OK value | NOT_FOUND. */
  GET_AND_DELETE(0x0A, true),
  /** key extras:[delta] → OK extras:[new value] | NOT_A_NUMBER | OVERFLOW. */
  INCREMENT(0x0B, true),
  /** key value:[delta as decimal text] → OK value:[new value as text] | NOT_A_NUMBER | OVERFLOW. */
  INCREMENT_FLOAT(0x0C, true),
  /** key value → OK extras:[new length]. */
  APPEND(0x0D, true),
  /** key value extras:[expected version, ttl] → OK extras:[new version] | VERSION_MISMATCH extras:[current] | NOT_FOUND. */
  COMPARE_AND_SET(0x0E, true),
  /** key → OK extras:[length] (0 when absent). */
  STRLEN(0x0F, true),
  /** key extras:[start, end] → OK value (Redis GETRANGE offsets). */
  GET_RANGE(0x10, true),
  /** key value extras:[offset] → OK extras:[new length]. */
  SET_RANGE(0x11, true),
  /** value:[key list] → OK value:[value list, -1 length where missing]. */
  MULTI_GET(0x12, false),
  /** value:[pair list] extras:[ttl] → OK. */
  MULTI_SET(0x13, false),
  /** value:[pair list] → OK | CONDITION_FAILED (a key existed; nothing written). */
  MULTI_SET_IF_ABSENT(0x14, false),
  /** value:[key list] → OK extras:[number deleted]. */
  MULTI_DELETE(0x15, false),
  /** value:[key list] → OK extras:[number existing]. */
  MULTI_EXISTS(0x16, false),
  /** extras:[cursor, count] → OK extras:[next cursor] value:[key list]. */
  SCAN(0x17, false),
  /** → OK. Removes every entry of the receiving node. */
  FLUSH(0x18, false),
  /** → OK extras:[entries]. */
  SIZE(0x19, false),
  /** → OK value:[UTF-8 "name:value" lines]. */
  STATS(0x1A, false),
  /** → OK value:[a key] | NOT_FOUND. */
  RANDOM_KEY(0x1B, false),
  /**
   * key:[user name, UTF-8; empty means "default"] value:[password] → OK (the connection runs as that
   * user from now on) | AUTH_FAILED (unknown or disabled user, or wrong password; Redis's WRONGPASS
   * text). The same users and rules as the Redis protocol's AUTH.
   */
  AUTH(0x1C, false),

  // 0x20-0x2F: transactions and typed values.

  /**
   * An atomic batch on one slot. key: any key of the batch (routing); value: the batch,
   * {@link TransactionCodec} (conditions, then data requests) → OK value:[one reply per request,
   * TransactionCodec] | CONDITION_FAILED (a condition did not hold; nothing ran) | CROSS_SLOT (keys
   * of several slots on a node with other owners) | BAD_REQUEST (malformed, or a request that may
   * not be batched).
   */
  TRANSACTION(0x20, true),
  /** key → OK extras:[version, expireAtMillis (0 = none)] | NOT_FOUND. Reads no value (WATCH). */
  VERSION(0x21, true),
  /**
   * Redis's bit commands. key (BITOP: the destination); extras:[command 0 GETBIT, 1 SETBIT, 2
   * BITCOUNT, 3 BITPOS, 4 BITOP, 5 BITFIELD, then its arguments]; value: BITOP's source key list,
   * BITFIELD's operations → OK extras:[the integer answer] | OK value:[BITFIELD's results]. See
   * docs/PROTOCOL.md, "Bits".
   */
  BITS(0x22, true),
  /**
   * Redis's key commands. key (the source); extras:[operation 0 TOUCH, 1 RENAME, 2 RENAMENX, 3
   * COPY (extra 1: replace), 4 ENCODING, 5 MEMORY_USAGE]; value: the destination of RENAME,
   * RENAMENX, COPY → OK extras:[1 or 0, or the bytes] | OK value:[the encoding] | NOT_FOUND. See
   * docs/PROTOCOL.md, "Key operations".
   */
  KEY_OP(0x23, true),
  /**
   * Redis's hash commands. key; extras:[command (see docs/PROTOCOL.md, "Hashes"), then its
   * numeric arguments]; value: a ListCodec value list of its fields and values → OK extras:[the
   * integer answer] | OK value:[one value, or a value list] | NOT_FOUND (nil) | WRONG_TYPE.
   */
  HASH(0x24, true),
  /**
   * Redis's set commands. key (SMOVE: the source; the STORE forms: the destination); extras:[command
   * (see docs/PROTOCOL.md, "Sets"), then its numeric arguments]; value: a ListCodec value list of
   * members, or of the other keys → like HASH, and CROSS_SLOT for other keys of another slot.
   */
  SETS(0x25, true),
  /**
   * A Lua script (Redis's EVAL family), run whole and atomically on the owner of its keys' slot.
   * key: its first declared key (routing; empty for a script that declares none, which runs on the
   * node that receives it); extras:[number of declared keys, flags (bit 0 read-only, EVAL_RO; bit 1
   * the caller speaks RESP3)]; value: {@link ScriptCodec} (body, ACL user, keys, arguments) → OK
   * value:[the script's reply, already in RESP as the caller reads it: a script error is a RESP
   * error inside an OK frame] | CROSS_SLOT (declared keys of several slots on a node with other
   * owners) | SCRIPT_BUSY | BAD_REQUEST. See docs/PROTOCOL.md, "Scripting".
   */
  SCRIPT(0x26, true),
  /**
   * Node-local: stops the script running on the receiving node (Redis's SCRIPT KILL) → OK (it was
   * stopped) | NOT_FOUND (no script is running: NOTBUSY) | CONDITION_FAILED (it has written, so it
   * cannot be stopped: UNKILLABLE).
   */
  SCRIPT_KILL(0x27, false),

  // 0x28-0x29: client-side caching (a client's near cache kept correct by invalidations).

  /**
   * Turns invalidation tracking on or off for this connection (Redis's CLIENT TRACKING, default
   * mode): while on, every GET answered on it makes the node remember the key for the connection,
   * and the key's next change (write, delete, expiry, eviction, flush, its slot moving) sends one
   * {@link #INVALIDATE} on this connection. extras:[1 on, 0 off] → OK | BAD_REQUEST. Answered by the
   * connection, never forwarded.
   */
  TRACKING(0x28, false),
  /**
   * Node to client only, with request id 0 and the RESPONSE flag, never in answer to a request:
   * keys a tracking connection read changed. extras:[{@link #INVALIDATE_KEYS} the keys in value,
   * {@link #INVALIDATE_ALL} every key (a flush)] value:[the keys, ListCodec]. Sent by a client, it is
   * answered BAD_REQUEST.
   */
  INVALIDATE(0x29, false),

  // 0x2A: more typed values.

  /**
   * Redis's sorted-set commands. key (the STORE forms and ZRANGESTORE: the destination);
   * extras:[command ({@link SortedSets}), then its numeric arguments]; value: a ListCodec value list
   * (members, scores as 8-byte IEEE 754 doubles, lex bounds, or the other keys of the multi-key
   * commands) → OK extras:[the integer answer] | OK value:[a score, a member, or a value list] |
   * NOT_FOUND (nil) | WRONG_TYPE, and CROSS_SLOT for other keys of another slot. See
   * docs/PROTOCOL.md, "Sorted sets".
   */
  ZSETS(0x2A, true),

  // 0x40-0x4F: the cluster. Never forwarded: each is about the node that receives it.

  /**
   * Node to node, on a peer connection only (see PEER_HELLO). value:[a membership message,
   * distcache-server GossipCodec] → OK value:[the answer, same encoding; empty when the message
   * calls for none] | BAD_REQUEST (malformed, or sent on a client connection).
   */
  CLUSTER_GOSSIP(0x40, false),
  /**
   * For smart clients. → OK extras:[placement epoch, virtual nodes per member, placement
   * fingerprint, replicas per slot] value:[member list: count u16, then per member: id length u8, id (ASCII), host
   * length u8, host (ASCII), port u16, state u8 (0 ALIVE, 1 SUSPECT, 2 DEAD, 3 LEFT; plus 0x10
   * while joining, 0x20 while departing), incarnation u64]. Members in state ALIVE or SUSPECT own
   * slots, but joining ones learn; a client builds {@code Placement.of(epoch, owners, learners,
   * departing, virtualNodes, replicas)} (replicas 0 when the fourth extra is absent), checks that
   * its fingerprint is the one sent,
   * and gets the nodes' owner for every slot. Epochs are comparable across nodes: the placement
   * with the higher (epoch, fingerprint) is the newer. Nodes older than slots sent two extras.
   * A request with extras:[{@link ProtocolConstants#MEMBERS_WITH_TLS_PORTS}] also gets, after the
   * member list, each member's TLS port: count u16 (the list's), then a port u16 per member in the
   * list's order, 0 when the node does not know it (clients connected over TLS dial those).
   */
  CLUSTER_MEMBERS(0x41, false),
  /** key → OK extras:[placement epoch] value:[the owner's address, ASCII host:port]. */
  CLUSTER_OWNER(0x42, false),
  /**
   * Node to node: the first frame of a peer connection, which makes it one (docs/PROTOCOL.md, "The
   * peer handshake"). value:[step u8, then the step's fields] → OK value:[the answer] | AUTH_FAILED
   * (wrong proof, or a secret on one side only; the connection is closed) | BUSY (too many
   * handshakes or peer connections at once). Sent on any later frame, or by a client, it is
   * BAD_REQUEST.
   */
  PEER_HELLO(0x43, false),

  // 0x44-0x5F: replication and migration between members (peer connections only).

  /**
   * Node to node, on a peer connection only: the effects of writes, from a slot's owner to one of
   * its replicas, in the order the owner applied them. extras:[stream id, sequence number of the
   * first effect, placement fingerprint, the owner's index among the placement's members (id
   * order)] value:[effects, distcache-server EffectCodec]; no key, so one effect with the largest
   * key and value fits in any frame limit a client's SET of them fits in → OK extras:[the last sequence number applied]
   * | TRY_AGAIN extras:[the last applied] (a gap, another placement, a slot still being cleaned:
   * resend from the next one) | BAD_REQUEST (malformed, or sent on a client connection).
   */
  REPLICATE(0x44, false),
  /**
   * Node to node, on a peer connection only: a replica whose copy of some slots is empty (it just
   * became their replica, or its copy was dropped) asks their owner for every entry. key:[the
   * replica's member id, ASCII] extras:[placement epoch, placement fingerprint] value:[a 16,384-bit
   * map of the slots, 2,048 bytes, bit s of byte s / 8 (least significant first)] → OK (the owner
   * streams the entries on the replica's REPLICATE stream, live writes in order with them) |
   * TRY_AGAIN (the placements differ, or the owner does not own a slot or the sender does not
   * replicate it: ask again after the placements agree) | BAD_REQUEST.
   */
  REPLICA_SYNC(0x45, false),

  // 0x46-0x47: pub/sub.

  /**
   * Node to node, on a peer connection only: a message published on the sender, for the receiver's
   * own subscribers (Redis Cluster's PUBLISH reaches every node). key:[the channel] value:[the
   * message] extras:[kind: {@link #PUBLISH_KIND_GLOBAL} a PUBLISH, {@link #PUBLISH_KIND_SHARD} an
   * SPUBLISH relayed by the channel's owner] → OK extras:[receivers on this node] | BAD_REQUEST
   * (malformed, or sent on a client connection). Never forwarded; delivery is at most once.
   */
  PUBSUB_PUBLISH(0x46, false),
  /**
   * Redis's SPUBLISH: served by the owner of the channel's slot like any keyed request (forwarded
   * there, or NOT_OWNER for a ROUTED request). key:[the channel] value:[the message] → OK
   * extras:[receivers on the owner]. Changes no key.
   */
  SHARD_PUBLISH(0x47, true),

  // 0x48: rebalancing.

  /**
   * Node to node, on a peer connection only: a learner (a member joining) holds a whole copy of
   * every slot it learned and asks each owner of those slots to stop applying the writes of the
   * slots it will take over (they are held, then sent to it once it owns them), to acknowledge
   * writes of the slots it will replicate only once it has applied them, and to wait until it has
   * applied every effect already sent. key:[the learner's member id, ASCII] extras:[placement
   * epoch, placement fingerprint] → OK (the learner may take the slots over) | TRY_AGAIN (the
   * placements differ, the sender is not a learner there, or it did not confirm in time) |
   * BAD_REQUEST. With a third extra {@link ProtocolConstants#MIGRATE_CANCEL} (0: prepare) the
   * learner ends the hold instead (it will not take the slots over on that round): OK, and the
   * owner serves them again. A fourth extra numbers the learner's rounds: a cancel of an older round
   * than the hold's leaves it, and a prepare of a round already cancelled gets TRY_AGAIN.
   */
  MIGRATE_PREPARE(0x48, false),

  // 0x49-0x4A: client-side caching (CLIENT TRACKING) between members.

  /**
   * Node to node, on a peer connection only: the sender has a tracking client about to read these
   * keys through it, whose reads it forwards to the receiver (their owner): remember the sender
   * as a reader of each, so the receiver's next write of one sends it {@link #TRACK_INVALIDATE}.
   * key:[the sender's member address, host:port ASCII] value:[the keys, ListCodec] → OK |
   * BAD_REQUEST (malformed, or sent on a client connection). The sender forwards the read only
   * after the OK, so no write the read misses can go unreported.
   */
  TRACK_REGISTER(0x49, false),
  /**
   * Node to node, on a peer connection only: keys a sender registered with {@link #TRACK_REGISTER}
   * changed (written, deleted, expired, evicted, or their slot left the owner): invalidate them
   * for the receiver's tracking clients. value:[the keys, ListCodec; an empty list means every key
   * (a FLUSHALL)] → OK | BAD_REQUEST.
   */
  TRACK_INVALIDATE(0x4A, false),

  // 0x4B: Redis 7 functions between members.

  /**
   * Node to node, on a peer connection only: the function libraries (FUNCTION LOAD, DELETE, FLUSH,
   * RESTORE) propagate to every member (docs/PROTOCOL.md, "Function sync"). extras:[kind]; value:[a
   * change set, distcache-server FunctionChanges: stamped library names, then a FUNCTION DUMP
   * payload with the libraries' code]. Kind {@link #FUNCTION_SYNC_PUSH}: the sender's change, to
   * apply → OK | BUSY (the receiver's script lane is busy: it catches up by pulling) |
   * BAD_REQUEST (malformed, over a limit, or sent on a client connection). Kind {@link
   * #FUNCTION_SYNC_PULL}: the value is the sender's summary (the same encoding, without code) → OK
   * value:[the receiver's changes the sender lacks] extras:[1 when more remain, else 0] |
   * BAD_REQUEST.
   */
  FUNCTION_SYNC(0x4B, false),

  // 0x4C: a graceful leave's question to the replicas.

  /**
   * Node to node, on a peer connection only: an owner about to leave asks one of its replicas which
   * of its slots' copies are not whole there (dropped and not copied in full since), so that it
   * sends them before it goes (docs/ARCHITECTURE.md, "Hand-off"). key:[the owner's member id,
   * ASCII] extras:[placement epoch, placement fingerprint] → OK extras:[epoch, fingerprint]
   * value:[count u16 (at most {@link ProtocolConstants#MAX_LACKING_GROUPS}), then per group: the copy
   * token u64 the replica will count the copy under, and a 16,384-bit slot map as REPLICA_SYNC's] |
   * TRY_AGAIN (the placements differ, or the receiver is still installing this one) | BAD_REQUEST.
   */
  REPLICA_LACKS(0x4C, false);

  /** {@link #FUNCTION_SYNC}'s kind extra: a change made on the sender, for the receiver to apply. */
  public static final long FUNCTION_SYNC_PUSH = 0;
  /** {@link #FUNCTION_SYNC}'s kind extra: the sender's summary; the reply holds what it lacks. */
  public static final long FUNCTION_SYNC_PULL = 1;

  /** {@link #INVALIDATE}'s extra: the value lists the keys. */
  public static final long INVALIDATE_KEYS = 0;
  /** {@link #INVALIDATE}'s extra: every key (a flush, or the node lost track). */
  public static final long INVALIDATE_ALL = 1;

  /** {@link #PUBSUB_PUBLISH}'s kind extra: a PUBLISH, for subscribers of the channel and patterns. */
  public static final long PUBLISH_KIND_GLOBAL = 0;
  /** {@link #PUBSUB_PUBLISH}'s kind extra: an SPUBLISH, for subscribers of the shard channel. */
  public static final long PUBLISH_KIND_SHARD = 1;

  private static final Opcode[] BY_CODE = new Opcode[256];

  static {
    for (Opcode op : values()) {
      BY_CODE[op.code] = op;
    }
  }

  private final int code;
  private final boolean keyed;

  Opcode(int code, boolean keyed) {
    this.code = code;
    this.keyed = keyed;
  }

  /** The byte on the wire. */
  public byte code() {
    return (byte) code;
  }

  /** True when the request names one key in the key field (and so has one owner). */
  public boolean keyed() {
    return keyed;
  }

  /**
   * True when the request changes nothing, so it may be sent again after a TRY_AGAIN without
   * reordering it against the writes that follow it on its connection.
   */
  public boolean readOnly() {
    return switch (this) {
      case PING, GET, VERSION, EXISTS, TTL, STRLEN, GET_RANGE, MULTI_GET, MULTI_EXISTS, SCAN, SIZE, STATS, RANDOM_KEY,
          CLUSTER_MEMBERS, CLUSTER_OWNER -> true;
      default -> false;
    };
  }

  /** The opcode for a wire byte, or null when unknown. */
  public static Opcode fromCode(byte code) {
    return BY_CODE[code & 0xFF];
  }
}
