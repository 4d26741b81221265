package io.distcache.client;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import java.util.function.Function;

/**
 * One request and how to read its response. Error statuses are turned into exceptions here, from
 * {@link StatusErrors}, before {@code decoder} sees the frame; the decoder handles OK and the
 * normal negative answers (NOT_FOUND, CONDITION_FAILED, VERSION_MISMATCH) of its operation. A
 * call with {@code passErrors} hands every reply to its decoder, error or not.
 */
record Call<T>(String op, Frame request, Function<Frame, T> decoder, boolean passErrors) {

  Call(String op, Frame request, Function<Frame, T> decoder) {
    this(op, request, decoder, false);
  }

  /** The result, or throws the exception the response means. */
  T decode(Frame response) {
    if (!passErrors && response.status().isError()) {
      throw StatusErrors.of(op, response);
    }
    return decoder.apply(response);
  }

  /**
   * This request flagged ROUTED, completing with the reply frame as it is: a NOT_OWNER answer must
   * reach the router, which resends the request, rather than become the caller's exception.
   */
  Call<Frame> routed() {
    return new Call<>(op, request.withFlags(Flags.ROUTED), Function.identity(), true);
  }
}
