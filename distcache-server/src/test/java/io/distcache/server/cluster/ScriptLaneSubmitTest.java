package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.ManualClock;
import io.distcache.server.bus.NotSentException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the script lane answers when the work it ran fails: a held request resent on to an owner it
 * could not connect to stays a failure for UnsentForwards to hold again (not applied); anything
 * else is the script's error.
 */
class ScriptLaneSubmitTest {
  private final ScriptHost lane = new ScriptHost(new ManualClock());
  private final Frame eval = Frame.request(Opcode.SCRIPT, 0, "k".getBytes(StandardCharsets.UTF_8), null);

  @AfterEach
  void close() {
    lane.close();
  }

  @Test
  void aResendThatCouldNotBeSent_failsWithTheSameCause() {
    CompletableFuture<Frame> reply = lane.submit(eval,
        () -> CompletableFuture.failedFuture(new NotSentException("cannot connect to 127.0.0.1:7003")));

    ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
        () -> reply.get(10, TimeUnit.SECONDS));
    assertThat(UnsentForwards.cause(e.getCause())).isInstanceOf(NotSentException.class);
  }

  @Test
  void anyOtherFailure_isAnsweredAsTheScriptsError() throws Exception {
    CompletableFuture<Frame> reply = lane.submit(eval,
        () -> CompletableFuture.failedFuture(new IllegalStateException("broken")));

    Frame answer = reply.get(10, TimeUnit.SECONDS);
    assertThat(answer.status()).isEqualTo(Status.INTERNAL_ERROR);
    assertThat(answer.valueText()).contains("script failed").contains("broken");
  }
}
