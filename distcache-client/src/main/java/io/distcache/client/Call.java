package io.distcache.client;

import io.distcache.protocol.Frame;
import java.util.function.Function;

/**
 * One request and how to read its response. Error statuses are turned into exceptions here, from
 * {@link StatusErrors}, before {@code decoder} sees the frame; the decoder handles OK and the
 * normal negative answers (NOT_FOUND, CONDITION_FAILED, VERSION_MISMATCH) of its operation.
 */
record Call<T>(String op, Frame request, Function<Frame, T> decoder) {

  /** The result, or throws the exception the response means. */
  T decode(Frame response) {
    if (response.status().isError()) {
      throw StatusErrors.of(op, response);
    }
    return decoder.apply(response);
  }
}
