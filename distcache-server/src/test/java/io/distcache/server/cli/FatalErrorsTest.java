package io.distcache.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FatalErrorsTest {
  private final List<Integer> halts = new ArrayList<>();
  private final FatalErrors handler = new FatalErrors(halts::add);

  private void dies(Throwable e) throws InterruptedException {
    Thread t = new Thread(() -> {
      if (e instanceof Error error) {
        throw error;
      }
      throw (RuntimeException) e;
    }, "distcache-io-test");
    t.setUncaughtExceptionHandler(handler);
    t.start();
    t.join();
  }

  @Test
  void anError_thatKillsAThread_haltsTheProcess_withItsCode() throws InterruptedException {
    // What a tester's event loops died of when the jar they ran from was rebuilt under them.
    dies(new NoClassDefFoundError("io/netty/buffer/FreeChunkEvent"));
    dies(new StackOverflowError());

    assertThat(halts).containsExactly(FatalErrors.EXIT_CODE, FatalErrors.EXIT_CODE);
  }

  @Test
  void anException_thatEndsAThread_isLogged_andTheNodeLivesOn() throws InterruptedException {
    dies(new IllegalStateException("a bug in one task"));

    assertThat(halts).isEmpty();
  }
}
