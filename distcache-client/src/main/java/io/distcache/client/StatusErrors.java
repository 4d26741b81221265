package io.distcache.client;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Status;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The one table from a node's error status to the exception the caller sees. BUSY and TRY_AGAIN
 * (and SCRIPT_BUSY) become the retryable {@link DistCacheUnavailableException}; statuses without a dedicated class
 * (NOT_OWNER, AUTH_REQUIRED, INTERNAL_ERROR, AUTH_FAILED, NO_PERMISSION, CROSS_SLOT) become a plain
 * {@link DistCacheException} that still carries the status.
 */
final class StatusErrors {
  private StatusErrors() {}

  private static final Map<Status, Function<String, DistCacheException>> TABLE = new EnumMap<>(Status.class);

  static {
    TABLE.put(Status.NOT_A_NUMBER, NotANumberException::new);
    TABLE.put(Status.OVERFLOW, ValueOverflowException::new);
    TABLE.put(Status.TOO_LARGE, TooLargeException::new);
    TABLE.put(Status.OUT_OF_MEMORY, CacheFullException::new);
    TABLE.put(Status.BAD_REQUEST, BadRequestException::new);
    TABLE.put(Status.UNKNOWN_OPCODE, UnknownOpcodeException::new);
    // Retryable: BUSY may follow a forward that reached the owner before it failed, so whether it
    // was applied is unknown; TRY_AGAIN means the node did nothing.
    TABLE.put(Status.BUSY, message -> new DistCacheUnavailableException(Status.BUSY, message, null, false));
    TABLE.put(Status.TRY_AGAIN, message -> new DistCacheUnavailableException(Status.TRY_AGAIN, message, null, true));
    // A Lua script holds the keys past its busy threshold; nothing was done.
    TABLE.put(Status.SCRIPT_BUSY, message -> new DistCacheUnavailableException(Status.SCRIPT_BUSY, message, null, true));
  }

  /** The exception for an error response to {@code opName}; the message names the op and the node's text. */
  static DistCacheException of(String opName, Frame response) {
    Status status = response.status();
    String text = response.valueText();
    String message = opName + " failed: " + status + (text.isEmpty() ? "" : ": " + text);
    Function<String, DistCacheException> factory = TABLE.get(status);
    return factory != null ? factory.apply(message) : new DistCacheException(status, message);
  }

  /** A response whose status makes no sense for the operation. */
  static DistCacheException unexpected(String opName, Frame response) {
    return new DistCacheException(response.status(),
        opName + " got an unexpected status " + response.status() + " from the node");
  }
}
