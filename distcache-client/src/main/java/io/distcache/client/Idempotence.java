package io.distcache.client;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;

/*
 * Design: a request is idempotent when applying it twice leaves the cluster as applying it once
 * and answers the same: every read-only request, and SET/MULTI_SET without a condition or a
 * returned previous value. DELETE is not (the second answer is "nothing deleted"), nor EXPIRE
 * (relative: the retry moves the deadline), INCREMENT, APPEND, SET_RANGE, GET_AND_SET, COMPARE_AND_SET
 * or the conditional writes. Those are retried only when the failure says nothing was applied.
 */
final class Idempotence {
  private Idempotence() {}

  private static final int SET_CONDITIONS = Flags.IF_ABSENT | Flags.IF_PRESENT | Flags.RETURN_PREVIOUS;

  /** True when sending {@code request} again after an unknown outcome is harmless. */
  static boolean of(Frame request) {
    Opcode op = request.op();
    if (op == null) {
      return false;
    }
    if (op.readOnly()) {
      return true;
    }
    return switch (op) {
      case SET -> (request.flags() & SET_CONDITIONS) == 0;
      case MULTI_SET -> true;
      default -> false;
    };
  }
}
