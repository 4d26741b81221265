package io.distcache.protocol;

/**
 * The operations of the KEY_OP opcode, carried in extra 0 (docs/PROTOCOL.md, "Key operations"):
 * both sides read them from here.
 */
public final class KeyOperation {
  private KeyOperation() {}

  public static final int TOUCH = 0;
  public static final int RENAME = 1;
  public static final int RENAMENX = 2;
  public static final int COPY = 3;
  public static final int ENCODING = 4;
  public static final int MEMORY_USAGE = 5;
  public static final int TYPE = 6;
  public static final int FREQ = 7;
  /**
   * OBJECT IDLETIME: seconds since the key's last use in extra 0, or -1 when the node's policy is an
   * LFU one (Redis refuses then); NOT_FOUND for a missing key; not a use of the key.
   */
  public static final int IDLETIME = 8;
  /** The highest operation code. */
  public static final int LAST = IDLETIME;
}
