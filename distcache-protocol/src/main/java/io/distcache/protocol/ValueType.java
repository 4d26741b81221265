package io.distcache.protocol;

/**
 * The type of a stored value, as Redis's TYPE names it. The code is what the store keeps with the
 * entry and what KEY_OP TYPE and SCAN's type filter carry on the wire.
 */
public enum ValueType {
  STRING(0, "string"),
  HASH(1, "hash"),
  SET(2, "set"),
  /** A sorted set: members with a double score each, ordered by (score, member). */
  ZSET(3, "zset");

  private static final ValueType[] BY_CODE = values();

  private final int code;
  private final String redisName;

  ValueType(int code, String redisName) {
    this.code = code;
    this.redisName = redisName;
  }

  public int code() {
    return code;
  }

  /** The name Redis's TYPE answers and SCAN ... TYPE takes. */
  public String redisName() {
    return redisName;
  }

  /** The type of a code, or null when unknown. */
  public static ValueType fromCode(long code) {
    return code >= 0 && code < BY_CODE.length ? BY_CODE[(int) code] : null;
  }

  /** The type Redis calls {@code name} (case-insensitive), or null for any other name. */
  public static ValueType fromRedisName(String name) {
    for (ValueType t : BY_CODE) {
      if (t.redisName.equalsIgnoreCase(name)) {
        return t;
      }
    }
    return null;
  }
}
