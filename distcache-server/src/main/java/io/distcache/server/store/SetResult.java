package io.distcache.server.store;

/**
 * Outcome of {@link Store#set}.
 *
 * @param written whether the value was stored
 * @param previous the value before the call when {@link SetArgs#returnPrevious()} was asked and the
 *     key existed; null otherwise
 * @param version the entry's version after the call (0 when not written)
 */
public record SetResult(boolean written, byte[] previous, long version) {
  /**
   * The previous value of {@link Store#setLendingPrevious}: there was one, and it went to the
   * caller's reader instead of into this result (compared by identity; empty).
   */
  public static final byte[] LENT = new byte[0];
}
