package io.distcache.server.resp;

import io.distcache.protocol.ProtocolConstants;

/**
 * Bounds on what one Redis request may claim, checked before anything is allocated.
 *
 * <p>The whole-request bound is the node's frame limit: a request becomes one binary frame (MSET is
 * one MULTI_SET frame), so a larger one could not be served anyway, and without it a request of
 * many maximal bulks ({@code *1000} of {@code $16777216}) would hold gigabytes before it is refused.
 *
 * @param maxBulkBytes the longest bulk string (Redis proto-max-bulk-len); the node's value limit
 * @param maxArrayLength the most arguments in one request
 * @param maxInlineBytes the longest inline command line, and the longest length line
 * @param maxRequestBytes the most bytes one array request may take on the wire, all its lines counted
 */
public record RespLimits(int maxBulkBytes, int maxArrayLength, int maxInlineBytes, int maxRequestBytes) {
  public static final int DEFAULT_MAX_ARRAY_LENGTH = 1024 * 1024;
  public static final int DEFAULT_MAX_INLINE_BYTES = 64 * 1024;
  public static final int DEFAULT_MAX_REQUEST_BYTES = ProtocolConstants.DEFAULT_MAX_FRAME_BYTES;
  /** Redis's bounds before a connection has authenticated: arguments per request, and bytes per bulk. */
  public static final int UNAUTHENTICATED_MAX_ARGS = 10;
  public static final int UNAUTHENTICATED_MAX_BULK_BYTES = 16 * 1024;

  /** What a frame adds to a value: header, the most extras, the longest key. */
  private static final int FRAME_OVERHEAD =
      ProtocolConstants.HEADER_BYTES + 8 * ProtocolConstants.MAX_EXTRAS + ProtocolConstants.MAX_KEY_BYTES;

  public RespLimits {
    if (maxBulkBytes <= 0 || maxArrayLength <= 0 || maxInlineBytes <= 0 || maxRequestBytes <= 0) {
      throw new IllegalArgumentException("limits must be positive: bulk " + maxBulkBytes + ", array " + maxArrayLength
          + ", inline " + maxInlineBytes + ", request " + maxRequestBytes);
    }
  }

  /** Limits with the default whole-request bound. */
  public RespLimits(int maxBulkBytes, int maxArrayLength, int maxInlineBytes) {
    this(maxBulkBytes, maxArrayLength, maxInlineBytes, DEFAULT_MAX_REQUEST_BYTES);
  }

  /**
   * Limits for a node whose values are at most {@code maxValueBytes}; keys (64 KiB) always fit. A
   * request may be as large as the default frame, or as a frame carrying the largest value.
   */
  public static RespLimits forMaxValueBytes(int maxValueBytes) {
    long frame = Math.max(DEFAULT_MAX_REQUEST_BYTES, (long) maxValueBytes + FRAME_OVERHEAD);
    return forNode(maxValueBytes, (int) Math.min(frame, Integer.MAX_VALUE));
  }

  /** Limits for a node with these value and frame limits: a request may be as large as a frame. */
  public static RespLimits forNode(int maxValueBytes, int maxFrameBytes) {
    return new RespLimits(Math.max(maxValueBytes, ProtocolConstants.MAX_KEY_BYTES), DEFAULT_MAX_ARRAY_LENGTH,
        DEFAULT_MAX_INLINE_BYTES, maxFrameBytes);
  }
}
