package io.distcache.protocol;

import java.nio.ByteBuffer;

/*
 * Design: the wire facts of hash field expiry (Redis 7.4's HEXPIRE family), defined once for both
 * sides of the HASH opcode. They ride the existing HASH opcode as more commands in its extra 0 (no
 * new opcode or status): the time, its unit and the condition go in the extras, the fields in the
 * value as a ListCodec value list, and the per-field answers come back as a packed array of 8-byte
 * big-endian integers (one per field, in the request's order), which stays compact for the many
 * fields one command may name.
 *
 * Times on the wire are milliseconds. A relative time is turned into an absolute one by the node
 * that applies the command, with its own clock (as EXPIRE does), so a forwarded command means the
 * same on the owner as on the node that received it.
 */

/** HASH commands, conditions and reply codes of hash field expiry. See docs/PROTOCOL.md, "Hash field expiry". */
public final class HashFieldExpiry {
  private HashFieldExpiry() {}

  /**
   * HASH command: set the expiry of fields. extras:[14, time in ms, flags (condition in bits 0-2,
   * {@link #ABSOLUTE} for a Unix time instead of a time from now)]; value: the fields → OK value:
   * codes ({@link #NO_FIELD}, {@link #CONDITION_NOT_MET}, {@link #SET}, {@link #DELETED}).
   */
  public static final int HEXPIRE = 14;
  /**
   * HASH command: the expiry of fields. extras:[15]; value: the fields → OK extras:[the owner's
   * clock, Unix ms] value: per field its absolute expiry in Unix ms, {@link #NO_TTL} or {@link
   * #NO_FIELD}; the caller derives HTTL, HPTTL, HEXPIRETIME and HPEXPIRETIME from it.
   */
  public static final int HTTL = 15;
  /** HASH command: remove the expiry of fields. extras:[16]; value: the fields → OK value: codes. */
  public static final int HPERSIST = 16;
  /**
   * HASH command: remove the fields whose time has come and give their memory back (the node's
   * active sweep sends it; anyone may, it changes nothing that is visible). extras:[17] → OK
   * extras:[fields removed].
   */
  public static final int HREAP = 17;
  /**
   * HASH command (Redis 8's HGETDEL): the values of fields, which are deleted. value: the fields →
   * OK value: a ListCodec value list, absent where a field is absent; extras:[fields deleted].
   */
  public static final int HGETDEL = 18;
  /**
   * HASH command (Redis 8's HGETEX): the values of fields, setting or removing their expiry.
   * extras:[19, time in ms, flags ({@link #ABSOLUTE}, {@link #PERSIST}, or neither with time 0:
   * only read)]; value: the fields → OK value: a ListCodec value list; extras:[expiries set or
   * removed, fields deleted because the time was now or past].
   */
  public static final int HGETEX = 19;
  /**
   * HASH command (Redis 8's HSETEX): set fields and their expiry in one step. extras:[20, time in
   * ms, flags ({@link #SET_EXPIRY} with or without {@link #ABSOLUTE}, or {@link #KEEP_TTL}, or
   * neither: the fields lose their expiry; and {@link #FNX} or {@link #FXX})]; value: a ListCodec
   * value list of field, value pairs → OK extras:[1 set, 0 the FNX/FXX condition failed; expiries
   * set; fields deleted because the time was now or past].
   */
  public static final int HSETEX = 20;

  /** Condition (flags bits 0-2): none. */
  public static final int ALWAYS = 0;
  /** Set only when the field has no expiry. */
  public static final int NX = 1;
  /** Set only when the field has an expiry. */
  public static final int XX = 2;
  /** Set only when later than the current expiry (no expiry counts as infinite). */
  public static final int GT = 3;
  /** Set only when earlier than the current expiry (no expiry counts as infinite). */
  public static final int LT = 4;
  /** Mask of the condition bits in the flags extra. */
  public static final int CONDITION_MASK = 0x7;
  /** Flag: the time is an absolute Unix time in ms, not a time from now. */
  public static final int ABSOLUTE = 0x8;
  /** HGETEX flag: remove the fields' expiry instead of setting one. */
  public static final int PERSIST = 0x10;
  /** HGETEX flag: set the expiry to the time in extra 1 (relative unless ABSOLUTE). */
  public static final int SET_EXPIRY = 0x20;
  /** HSETEX flag: the fields keep the expiry they have (Redis's KEEPTTL). */
  public static final int KEEP_TTL = 0x40;
  /** HSETEX flag: set only when none of the fields exists (Redis's FNX). */
  public static final int FNX = 0x80;
  /** HSETEX flag: set only when every field exists (Redis's FXX). */
  public static final int FXX = 0x100;

  /** Reply code: the key or the field does not exist (also: the field has expired). */
  public static final long NO_FIELD = -2;
  /** Reply code: the field exists but has no expiry (HTTL, HPERSIST). */
  public static final long NO_TTL = -1;
  /** Reply code: the NX, XX, GT or LT condition did not hold. */
  public static final long CONDITION_NOT_MET = 0;
  /** Reply code: the expiry was set (HEXPIRE) or removed (HPERSIST). */
  public static final long SET = 1;
  /** Reply code: the time was now or in the past, so the field was deleted. */
  public static final long DELETED = 2;

  /**
   * The latest absolute expiry a field may have, in Unix ms (2^46 - 1, about the year 4199, as
   * Redis's HFE_MAX_ABS_TIME_MSEC): later times are refused with Redis's "invalid expire time".
   */
  public static final long MAX_EXPIRE_AT_MILLIS = (1L << 46) - 1;

  /** Packs per-field integers as a reply value. */
  public static byte[] encodeCodes(long[] codes) {
    ByteBuffer b = ByteBuffer.allocate(codes.length * 8);
    for (long c : codes) {
      b.putLong(c);
    }
    return b.array();
  }

  /** Unpacks {@link #encodeCodes}; a length that is not a multiple of 8 is malformed. */
  public static long[] decodeCodes(byte[] value) {
    if (value.length % 8 != 0) {
      throw new IllegalArgumentException("field expiry reply of " + value.length + " bytes is not a multiple of 8");
    }
    ByteBuffer b = ByteBuffer.wrap(value);
    long[] out = new long[value.length / 8];
    for (int i = 0; i < out.length; i++) {
      out[i] = b.getLong();
    }
    return out;
  }
}
