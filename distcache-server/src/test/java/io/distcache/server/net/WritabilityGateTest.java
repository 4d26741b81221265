package io.distcache.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

class WritabilityGateTest {

  @Test
  void writabilityChanged_repliesPastHighMark_stopsReadingUntilDrainedBelowLowMark() {
    EmbeddedChannel ch = new EmbeddedChannel(WritabilityGate.INSTANCE);
    ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(8, 16));

    ch.write(Unpooled.wrappedBuffer(new byte[32]));
    assertThat(ch.isWritable()).isFalse();
    assertThat(ch.config().isAutoRead()).isFalse();

    ch.flush();
    assertThat(ch.isWritable()).isTrue();
    assertThat(ch.config().isAutoRead()).isTrue();

    ByteBuf sent = ch.readOutbound();
    assertThat(sent.readableBytes()).isEqualTo(32);
    sent.release();
    assertThat(ch.finish()).isFalse();
  }
}
