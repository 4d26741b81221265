package io.distcache.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ProtocolDetectorTest {
  private final List<String> installed = new ArrayList<>();
  private final StringBuilder received = new StringBuilder();

  private ProtocolInstaller named(String name) {
    return pipeline -> {
      installed.add(name);
      pipeline.addLast(new ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
          ByteBuf b = (ByteBuf) msg;
          received.append(b.toString(StandardCharsets.US_ASCII));
          b.release();
        }
      });
    };
  }

  private EmbeddedChannel channel() {
    return new EmbeddedChannel(new ProtocolDetector(named("binary"), named("redis"), named("http"), null, null));
  }

  @Test
  void firstLineThatCouldStillBeHttp_isHandedToRedisAfterTheWait_notHeldForEver() {
    EmbeddedChannel ch = channel();
    ch.writeInbound(Unpooled.copiedBuffer("G", StandardCharsets.US_ASCII));
    assertThat(installed).as("undecided: G could begin GET / HTTP/1.1").isEmpty();

    // (the embedded loop's clock also runs in real time: half the wait, then the rest)
    ch.advanceTimeBy(ProtocolDetector.DECIDE_WAIT.toMillis() / 2, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertThat(installed).isEmpty();

    ch.advanceTimeBy(ProtocolDetector.DECIDE_WAIT.toMillis() / 2, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertThat(installed).containsExactly("redis");
    assertThat(received).hasToString("G"); // its own request timeout answers it from here
    ch.finishAndReleaseAll();
  }

  @Test
  void firstLineDecidedInTime_cancelsTheWait() {
    EmbeddedChannel ch = channel();
    ch.writeInbound(Unpooled.copiedBuffer("GE", StandardCharsets.US_ASCII));
    ch.writeInbound(Unpooled.copiedBuffer("T / HTTP/1.1\r\n", StandardCharsets.US_ASCII));
    assertThat(installed).containsExactly("http");

    ch.advanceTimeBy(ProtocolDetector.DECIDE_WAIT.toMillis() * 2, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertThat(installed).containsExactly("http");
    ch.finishAndReleaseAll();
  }
}
