package io.distcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.netty.buffer.Unpooled;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class NodeConnectionTest {

  @Test
  void send_channelNotWritable_failsFastWithBusyAndQueuesNothing() {
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(8, 16));
    NodeConnection connection = new NodeConnection(ch, "node-a:7000", 60_000);
    ch.pipeline().addLast(connection);
    ch.write(Unpooled.wrappedBuffer(new byte[32])); // unsent bytes past the high mark
    assertThat(ch.isWritable()).isFalse();

    CompletableFuture<Frame> refused = new CompletableFuture<>();
    connection.sendRaw(Frame.request(Opcode.PING, null), refused);

    assertThat(refused).isCompletedExceptionally();
    assertThatThrownBy(refused::join).isInstanceOf(CompletionException.class)
        .cause().isInstanceOfSatisfying(DistCacheException.class, e -> assertThat(e.status()).isEqualTo(Status.BUSY))
        .hasMessageContaining("the connection to node-a:7000 is backed up");
    assertThat(connection.inFlight()).isZero();

    ch.flush(); // drained: requests go out again
    CompletableFuture<Frame> sent = new CompletableFuture<>();
    connection.sendRaw(Frame.request(Opcode.PING, null), sent);
    assertThat(connection.inFlight()).isEqualTo(1);
    ch.runPendingTasks(); // sends are batched: the write happens in a task on the channel's loop
    assertThat(ch.outboundMessages()).anySatisfy(m -> assertThat(m).isInstanceOf(Frame.class));
    assertThat(sent).isNotDone();
    ch.finishAndReleaseAll();
  }
}
