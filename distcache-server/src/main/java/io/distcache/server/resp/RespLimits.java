package io.distcache.server.resp;

import io.distcache.protocol.ProtocolConstants;

/**
 * Bounds on what one Redis request may claim, checked before anything is allocated.
 *
 * @param maxBulkBytes the longest bulk string (Redis proto-max-bulk-len); the node's value limit
 * @param maxArrayLength the most arguments in one request
 * @param maxInlineBytes the longest inline command line, and the longest length line
 */
public record RespLimits(int maxBulkBytes, int maxArrayLength, int maxInlineBytes) {
  public static final int DEFAULT_MAX_ARRAY_LENGTH = 1024 * 1024;
  public static final int DEFAULT_MAX_INLINE_BYTES = 64 * 1024;

  public RespLimits {
    if (maxBulkBytes <= 0 || maxArrayLength <= 0 || maxInlineBytes <= 0) {
      throw new IllegalArgumentException(
          "limits must be positive: bulk " + maxBulkBytes + ", array " + maxArrayLength + ", inline " + maxInlineBytes);
    }
  }

  /** Limits for a node whose values are at most {@code maxValueBytes}; keys (64 KiB) always fit. */
  public static RespLimits forMaxValueBytes(int maxValueBytes) {
    return new RespLimits(
        Math.max(maxValueBytes, ProtocolConstants.MAX_KEY_BYTES), DEFAULT_MAX_ARRAY_LENGTH, DEFAULT_MAX_INLINE_BYTES);
  }
}
