package io.distcache.server.resp;

import io.distcache.protocol.Flags;

/*
 * Design: the binary protocol's ttl extra is relative milliseconds with 0 meaning "no expiry", or
 * absolute Unix milliseconds under EXPIRY_ABSOLUTE. Redis times in the past (EXPIRE k -1, EXPIREAT
 * k 0, SET ... PXAT 1) must delete, and neither 0 nor a negative number says that on the wire, so
 * they become the absolute time 1 ms after the epoch: long past, still ordered before any real time
 * for GT and LT.
 */

/**
 * A Redis expiry converted for a binary-protocol request.
 *
 * @param ttl the ttl extra
 * @param flags {@link Flags#EXPIRY_ABSOLUTE} or 0
 */
record Expiry(long ttl, int flags) {
  static final Expiry NONE = new Expiry(0, 0);
  private static final long PAST = 1;

  /**
   * SET/GETEX/SETEX style: the amount must be positive; EX/PX are relative, EXAT/PXAT absolute.
   * Errors are Redis's "invalid expire time in '&lt;command&gt;' command".
   */
  static Expiry strict(long amount, boolean seconds, boolean absolute, long nowMillis, String command) {
    if (amount <= 0 || (seconds && amount > Long.MAX_VALUE / 1000)) {
      throw new CommandException(RespErrors.invalidExpire(command));
    }
    long ms = seconds ? amount * 1000 : amount;
    if (absolute) {
      return new Expiry(ms, Flags.EXPIRY_ABSOLUTE);
    }
    if (ms > Long.MAX_VALUE - nowMillis) {
      throw new CommandException(RespErrors.invalidExpire(command));
    }
    return new Expiry(ms, 0);
  }

  /** EXPIRE family: any amount; zero or negative results mean "already expired". */
  static Expiry lenient(long amount, boolean seconds, boolean absolute, long nowMillis, String command) {
    if (seconds && (amount > Long.MAX_VALUE / 1000 || amount < Long.MIN_VALUE / 1000)) {
      throw new CommandException(RespErrors.invalidExpire(command));
    }
    long ms = seconds ? amount * 1000 : amount;
    long base = absolute ? 0 : nowMillis;
    if (ms > Long.MAX_VALUE - base) {
      throw new CommandException(RespErrors.invalidExpire(command));
    }
    if (!absolute && ms > 0) {
      return new Expiry(ms, 0);
    }
    long at = base + ms;
    return new Expiry(at <= 0 ? PAST : at, Flags.EXPIRY_ABSOLUTE);
  }
}
