package io.distcache.protocol;

/** The fixed part of every frame. See docs/PROTOCOL.md. */
public final class ProtocolConstants {
  private ProtocolConstants() {}

  /**
   * First byte of every frame. Not printable ASCII (and not '*', '$', '+'), so a node can tell our
   * protocol from RESP and inline commands by the first byte of a connection.
   */
  public static final byte MAGIC = (byte) 0xDC;

  public static final byte VERSION = 1;

  /**
   * Header layout, big-endian: magic u8, version u8, opcode u8, flags u8, request id u32, status
   * u16, extras length u16 (bytes, a multiple of 8), key length u32, value length u32.
   */
  public static final int HEADER_BYTES = 20;

  /** At most this many 8-byte extras. */
  public static final int MAX_EXTRAS = 8;

  /** Default largest frame (header + extras + key + value) a peer accepts. */
  /**
   * The default of the most fields one hash (or members one set) may hold (a node's
   * --max-collection-elements). A collection is one packed value that every write re-encodes, so
   * its size bounds the cost of one command; a write past it is refused before anything is
   * allocated.
   */
  public static final int MAX_COLLECTION_ELEMENTS = 16_384;

  /** The highest --max-collection-elements a node accepts. */
  public static final int MAX_COLLECTION_ELEMENTS_LIMIT = 1 << 20;

  /** The largest |count| of HRANDFIELD (and SRANDMEMBER): its reply is built in memory first. */
  public static final long MAX_RANDOM_PICK = 1_000_000;

  /**
   * The most bytes of elements one random pick (HRANDFIELD, SRANDMEMBER, ZRANDMEMBER) answers: a
   * negative count repeats elements, so a count within MAX_RANDOM_PICK of one 64 KiB member made a
   * reply of gigabytes on the heap and killed a node. The default frame limit (--max-frame).
   */
  public static final long MAX_RANDOM_PICK_BYTES = 32L * 1024 * 1024;

  /**
   * The largest count one SCAN step honours, over either protocol. Count is only a hint, so capping
   * it changes nothing a full cursor loop returns, and it keeps one step's reply bounded: RESP's
   * `SCAN 0 COUNT 100000000` on a node of 5 million keys built a reply of 500 MB on the heap and
   * killed the node (a tester).
   */
  public static final int MAX_SCAN_COUNT = 10_000;

  public static final int DEFAULT_MAX_FRAME_BYTES = 32 * 1024 * 1024;

  /** Keys are at most 64 KiB everywhere. */
  public static final int MAX_KEY_BYTES = 64 * 1024;

  /**
   * Keys one MULTI_GET, MULTI_SET, MULTI_SET_IF_ABSENT, MULTI_DELETE or MULTI_EXISTS may name:
   * Redis's limit on one command's arguments. A 32 MiB list holds 8 million empty keys, which
   * stalled every client of the node for 5 s per request.
   */
  public static final int MAX_MULTI_KEYS = 1 << 20;

  /** CLUSTER_MEMBERS request extras [0]: send the members' TLS ports after the list (see Opcode). */
  public static final long MEMBERS_WITH_TLS_PORTS = 1;

  /** MIGRATE_PREPARE request extras [2]: end the hold of the sender's slots instead (0: prepare; see Opcode). */
  public static final long MIGRATE_CANCEL = 1;

  /**
   * REPLICA_LACKS reply: the most groups (one per copy token) a replica answers with; a replica
   * with more distinct tokens pending gives the rest one new token.
   */
  public static final int MAX_LACKING_GROUPS = 16;

  /**
   * REPLICA_LACKS's third extra: the sender is a departing member asking about every owner's slots
   * (not only its own) that the receiver replicates without a whole copy; answered in one group
   * with token 0, and the question changes nothing on the receiver (no copy is counted for it).
   */
  public static final long LACKS_ANY_OWNER = 1;

  /**
   * PING request extras [0], between members: also asks whether the receiver's hand-off has begun;
   * the reply is OK extras:[1 leaving, 0 not; 1 departing, 0 not] with no value (an older node
   * answers the first alone).
   */
  public static final long PING_ASKS_LEAVING = 1;
}
