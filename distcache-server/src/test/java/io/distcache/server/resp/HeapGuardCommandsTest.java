package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.HeapGuard;
import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** While the heap is nearly full after a collection (HeapGuard), what clients would add to it is refused. */
class HeapGuardCommandsTest {
  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(16L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final LocalExecutor executor = new LocalExecutor(store);
  private final HeapGuard guard = new HeapGuard(1000);
  private final RespContext context = RespContext.builder(new LocalRouter(executor), store).clock(clock)
      .version("test").compileExecutor(Runnable::run).scriptMemoryBytes(1 << 20).heapGuard(guard).build();
  private final RespChannel resp;

  HeapGuardCommandsTest() {
    context.installScripts(executor.scripts());
    resp = new RespChannel(context);
  }

  @AfterEach
  void tearDown() {
    resp.close();
    store.close();
  }

  private static final String HELD = "the node's heap held 950 bytes after its last collection, over 90% of its 1000"
      + " bytes (-Xmx)";

  @Test
  void multiCommands_areRefusedWhileTripped_andQueuedAgainOnceCleared() {
    resp.send("MULTI");
    guard.observe(950);
    assertThat(resp.send("SET a 1")).isEqualTo("-ERR queueing this command (53 bytes) is refused while " + HELD
        + "; retry later\r\n");
    assertThat(resp.send("EXEC")).startsWith("-EXECABORT");
    guard.observe(500);
    assertThat(resp.send("MULTI", "SET a 1", "EXEC")).isEqualTo("+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n");
    assertThat(context.clientMemory().used()).isZero();
  }

  @Test
  void subscribe_isRefusedWhileTripped_nothingSubscribed() {
    guard.observe(950);
    assertThat(resp.send("SUBSCRIBE news")).isEqualTo("-ERR subscribing is refused while " + HELD
        + "; retry later\r\n");
    assertThat(context.pubSub().subscriptionBytes()).isZero();
    guard.observe(500);
    assertThat(resp.send("SUBSCRIBE news")).startsWith("*3\r\n$9\r\nsubscribe\r\n");
  }

  @Test
  void scriptAllocatingHalfItsLimit_isStoppedWhileTripped_smallScriptsRun() {
    guard.observe(950);
    assertThat(resp.send("EVAL return#ARGV 0 a")).isEqualTo(":1\r\n");
    String big = resp.send("EVAL return#string.rep('x',700000) 0");
    assertThat(big).startsWith("-ERR").contains("script stopped: it allocated more than half the script memory"
        + " limit of 1048576 bytes (script-memory) while " + HELD);
    guard.observe(500);
    assertThat(resp.send("EVAL return#string.rep('x',700000) 0")).isEqualTo(":700000\r\n");
  }
}
