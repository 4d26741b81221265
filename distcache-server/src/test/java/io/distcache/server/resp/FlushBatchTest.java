package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Replies of a read are flushed when the event loop's cycle ends, not as each read completes. */
class FlushBatchTest {
  private final ManualClock clock = new ManualClock();
  private final Store store = Stores.create(StoreConfig.of(1 << 20, clock));
  private final ScriptedRouter router = new ScriptedRouter();
  private final RespChannel a = new RespChannel(router, store, clock);
  private final RespChannel b = new RespChannel(router, store, clock);

  @AfterEach
  void tearDown() {
    a.close();
    b.close();
    store.close();
  }

  /**
   * Delivers one read burst and its read-complete, as the transport does, without running tasks.
   * Auto-read is off because EmbeddedChannel runs pending tasks inside read(), which the pipeline's
   * head calls after a read completes when auto-read is on; a real transport only re-arms epoll.
   */
  private static void read(RespChannel c, String commands) {
    c.channel.config().setAutoRead(false);
    c.channel.pipeline().fireChannelRead(Unpooled.copiedBuffer(RespChannel.encode(commands), StandardCharsets.ISO_8859_1));
    c.channel.pipeline().fireChannelReadComplete();
  }

  private static String written(RespChannel c) {
    StringBuilder sb = new StringBuilder();
    ByteBuf out;
    while ((out = c.channel.readOutbound()) != null) {
      sb.append(out.toString(StandardCharsets.ISO_8859_1));
      out.release();
    }
    return sb.toString();
  }

  @Test
  void replies_waitForTheCycleToEnd_thenGoOutInOneWrite() {
    read(a, "PING");
    read(a, "ECHO x");
    assertThat(written(a)).isEmpty();

    a.channel.runPendingTasks();

    assertThat(a.channel.outboundMessages()).hasSize(1);
    assertThat(written(a)).isEqualTo("+PONG\r\n$1\r\nx\r\n");
  }

  @Test
  void twoLoopsOnOneThread_eachFlushesItsOwnConnections() {
    read(a, "PING");
    read(b, "ECHO y");
    assertThat(written(a)).isEmpty();
    assertThat(written(b)).isEmpty();

    b.channel.runPendingTasks();
    assertThat(written(b)).isEqualTo("$1\r\ny\r\n");
    assertThat(written(a)).isEmpty();

    a.channel.runPendingTasks();
    assertThat(written(a)).isEqualTo("+PONG\r\n");
  }

  @Test
  void closedBeforeTheCycleEnds_releasesTheRepliesWithoutWriting() {
    read(a, "PING");
    // through the pipeline: EmbeddedChannel.close() itself would run the pending flush first
    a.channel.pipeline().close();
    a.channel.runPendingTasks();
    assertThat(written(a)).isEmpty();
    read(b, "PING");
    b.channel.runPendingTasks();
    assertThat(written(b)).isEqualTo("+PONG\r\n");
  }
}
