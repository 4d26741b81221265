package io.distcache.protocol;

/**
 * Response status codes. Errors carry a UTF-8 message in the value field. Codes are stable: a
 * client maps them to typed exceptions from one table.
 */
public enum Status {
  OK(0),
  NOT_FOUND(1),
  CONDITION_FAILED(2),
  VERSION_MISMATCH(3),
  NOT_A_NUMBER(4),
  OVERFLOW(5),
  TOO_LARGE(6),
  BAD_REQUEST(7),
  OUT_OF_MEMORY(8),
  UNKNOWN_OPCODE(9),
  /**
   * A request flagged {@link Flags#ROUTED} reached a node that does not own its key's slot. Value:
   * the owner's host:port (ASCII); extras: [the node's placement epoch, the key's slot]. Sent
   * instead of forwarding, so that the smart client renews its view.
   */
  NOT_OWNER(10),
  /**
   * The node requires authentication (a password or ACL users) and this connection has not sent a
   * successful AUTH; or protected mode refuses this client (the message says which). Nothing was done.
   */
  AUTH_REQUIRED(11),
  /** The node is overloaded or shutting down; retry elsewhere or later. */
  BUSY(12),
  /** A failure inside the node; the message says what. */
  INTERNAL_ERROR(13),
  /**
   * The key's slot is changing owner: the receiver owns it but waits for the other members to
   * agree, or was sent it (forwarded) under a placement it does not share. Nothing was done;
   * retry shortly (Redis Cluster's TRYAGAIN).
   */
  TRY_AGAIN(14),
  /**
   * A peer handshake (PEER_HELLO) failed: a wrong proof of the cluster secret, or a secret on one
   * side only. The connection is closed after this reply.
   */
  AUTH_FAILED(15),
  /**
   * The connection's ACL user may not run this operation, or not on one of its keys (Redis's
   * NOPERM; the message is Redis's text). Nothing was done.
   */
  NO_PERMISSION(16),
  /**
   * The key holds a value of another type than the command works on (a string command on a hash,
   * a hash command on a set...): Redis's WRONGTYPE. Nothing was done. See {@link ValueType}.
   */
  WRONG_TYPE(20),
  /**
   * A request names keys of several slots where one slot is required (a TRANSACTION on a node of a
   * cluster with other owners): Redis Cluster's CROSSSLOT. Nothing was done.
   */
  CROSS_SLOT(21),
  /**
   * A Lua script has been running on the node for longer than its busy threshold (Redis's
   * busy-reply-threshold) and holds the keys this request needs: Redis's BUSY. Nothing was done;
   * retry once the script ends or was stopped (SCRIPT_KILL).
   */
  SCRIPT_BUSY(22);

  private static final Status[] BY_CODE = new Status[64];

  static {
    for (Status s : values()) {
      BY_CODE[s.code] = s;
    }
  }

  private final int code;

  Status(int code) {
    this.code = code;
  }

  public short code() {
    return (short) code;
  }

  /** The status for a wire code, or null when unknown. */
  public static Status fromCode(int code) {
    return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
  }

  /** True for the codes that mean "the request failed", as opposed to a normal negative answer. */
  public boolean isError() {
    return this != OK && this != NOT_FOUND && this != CONDITION_FAILED && this != VERSION_MISMATCH;
  }
}
