package io.distcache.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameTooLargeException;
import io.distcache.protocol.MalformedFrameException;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.cluster.HeldReply;
import io.distcache.server.cluster.Router;
import io.netty.channel.ChannelHandlerContext;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class BinaryRequestHandlerTest {

  /** Counts flushes reaching the socket end of the pipeline. */
  private static final class FlushCounter extends ChannelOutboundHandlerAdapter {
    int flushes;

    @Override
    public void flush(ChannelHandlerContext ctx) {
      flushes++;
      ctx.flush();
    }
  }

  private static Frame ping(int id) {
    return Frame.request(Opcode.PING, 0, null, ("p" + id).getBytes(StandardCharsets.UTF_8)).withRequestId(id);
  }

  @Test
  void channelRead_burstOfPipelinedRequests_flushedOnce() {
    FlushCounter counter = new FlushCounter();
    EmbeddedChannel ch = new EmbeddedChannel(counter, new BinaryRequestHandler(new MapRouter()));

    ch.writeInbound(ping(1), ping(2), ping(3));

    assertThat(counter.flushes).isEqualTo(1);
    for (int id = 1; id <= 3; id++) {
      Frame reply = ch.readOutbound();
      assertThat(reply.requestId()).isEqualTo(id);
      assertThat(reply.valueText()).isEqualTo("p" + id);
    }
    assertThat((Object) ch.readOutbound()).isNull();
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void channelRead_asyncReply_writtenAndFlushedWhenItCompletes() {
    CompletableFuture<Frame> pending = new CompletableFuture<>();
    Router router = r -> r.op() == Opcode.GET ? pending : CompletableFuture.completedFuture(r.replyValue(r.value()));
    FlushCounter counter = new FlushCounter();
    EmbeddedChannel ch = new EmbeddedChannel(counter, new BinaryRequestHandler(router));
    Frame get = Frame.request(Opcode.GET, "k".getBytes(StandardCharsets.UTF_8)).withRequestId(10);

    ch.writeInbound(get, ping(11));
    Frame first = ch.readOutbound();
    pending.complete(get.replyValue("late".getBytes(StandardCharsets.UTF_8)));
    ch.runPendingTasks();
    Frame second = ch.readOutbound();

    assertThat(first.requestId()).isEqualTo(11);
    assertThat(second.requestId()).isEqualTo(10);
    assertThat(second.valueText()).isEqualTo("late");
    assertThat(counter.flushes).isEqualTo(2);
    ch.finishAndReleaseAll();
  }

  @Test
  void heldWrite_laterRequestsOfTheConnection_routedOnlyOnceItIsApplied() {
    io.distcache.server.cluster.HeldReply held = new HeldReply();
    List<Frame> routed = new ArrayList<>();
    Router router = r -> {
      routed.add(r);
      return routed.size() == 1 ? held : CompletableFuture.completedFuture(r.replyValue(r.value()));
    };
    EmbeddedChannel ch = new EmbeddedChannel(new BinaryRequestHandler(router));
    Frame first = Frame.request(Opcode.SET, 0, "k".getBytes(StandardCharsets.UTF_8), "1".getBytes(StandardCharsets.UTF_8))
        .withRequestId(1);
    Frame second = Frame.request(Opcode.SET, 0, "k".getBytes(StandardCharsets.UTF_8), "2".getBytes(StandardCharsets.UTF_8))
        .withRequestId(2);

    ch.writeInbound(first, second, ping(3));
    ch.runPendingTasks();
    assertThat(routed).as("the later requests wait until the held write is applied").hasSize(1);
    held.complete(first.replyOk());
    ch.runPendingTasks();

    assertThat(routed).extracting(Frame::requestId).containsExactly(1, 2, 3);
    List<Integer> replied = new ArrayList<>();
    for (Frame f; (f = ch.readOutbound()) != null; ) {
      replied.add(f.requestId());
    }
    assertThat(replied).containsExactlyInAnyOrder(1, 2, 3);
    ch.finishAndReleaseAll();
  }

  @Test
  void heldForward_onAPeersConnection_holdsBackOnlyLaterForwardsForItsSlot() {
    HeldReply held = new HeldReply();
    List<Frame> routed = new ArrayList<>();
    Router router = r -> {
      routed.add(r);
      return routed.size() == 1 ? held : CompletableFuture.completedFuture(r.replyOk());
    };
    BinaryRequestHandler handler = new BinaryRequestHandler(router);
    EmbeddedChannel ch = new EmbeddedChannel(handler);
    handler.becomePeer();
    byte[] a = keyOfSlot(k -> true);
    int slotA = io.distcache.protocol.cluster.KeySlot.of(a);
    byte[] b = keyOfSlot(k -> io.distcache.protocol.cluster.KeySlot.of(k) != slotA);
    Frame first = forwardedSet(1, a);
    Frame otherSlot = forwardedSet(2, b);
    Frame sameSlot = forwardedSet(3, a);

    ch.writeInbound(first, otherSlot, sameSlot);
    ch.runPendingTasks();
    // The peer's link carries every client of the peer: only the held write's slot waits.
    assertThat(routed).extracting(Frame::requestId).containsExactly(1, 2);
    held.complete(first.replyOk());
    ch.runPendingTasks();

    assertThat(routed).extracting(Frame::requestId).containsExactly(1, 2, 3);
    ch.finishAndReleaseAll();
  }

  /** A connection with the node's input accounting in front: meter, frame decoder, handler. */
  private static EmbeddedChannel metered(InputBudget budget, BinaryRequestHandler handler) {
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.pipeline().addLast(new InputMeter(budget, java.time.Duration.ZERO, java.time.Duration.ZERO),
        new MeteredFrameDecoder(1 << 20), handler);
    return ch;
  }

  private static void send(EmbeddedChannel ch, Frame... frames) {
    io.netty.buffer.ByteBuf buf = Unpooled.buffer();
    for (Frame f : frames) {
      io.distcache.protocol.FrameEncoder.write(f, buf);
    }
    ch.writeInbound(buf);
    ch.runPendingTasks();
  }

  /** Holds every SET whose value is one byte (a write held while its slot changes owner); answers the rest. */
  private static Router holdingOneByteSets(List<HeldReply> held, List<Frame> routed) {
    return r -> {
      routed.add(r);
      if (r.op() == Opcode.SET && r.value().length == 1) {
        HeldReply h = new HeldReply();
        held.add(h);
        return h;
      }
      return CompletableFuture.completedFuture(r.replyOk());
    };
  }

  private static Frame set(int id, byte[] key, int valueBytes, int flags) {
    return Frame.request(Opcode.SET, flags, key, new byte[valueBytes]).withRequestId(id);
  }

  @Test
  void framesWaitingBehindAHeldWrite_pastTheNodeWideBound_clientAnsweredBusyAndClosed_othersRoutedLater() {
    List<HeldReply> held = new ArrayList<>();
    List<Frame> routed = new ArrayList<>();
    byte[] k = "k".getBytes(StandardCharsets.UTF_8);
    Frame waits = set(2, k, 400, 0);
    long each = BinaryRequestHandler.heldBytes(waits);
    InputBudget budget = new InputBudget(each + each / 2);
    EmbeddedChannel first = metered(budget, new BinaryRequestHandler(holdingOneByteSets(held, routed)));
    EmbeddedChannel second = metered(budget, new BinaryRequestHandler(holdingOneByteSets(held, routed)));

    long one = BinaryRequestHandler.heldBytes(set(1, k, 1, 0));
    send(first, set(1, k, 1, 0), waits);
    assertThat(budget.usedBytes()).as("the held SET in flight, and the second waiting behind it, counted")
        .isEqualTo(one + each);
    send(second, set(1, k, 1, 0), waits, ping(3));

    Frame refusal = second.readOutbound();
    assertThat(refusal.requestId()).isEqualTo(2);
    assertThat(refusal.status()).isEqualTo(Status.BUSY);
    assertThat(refusal.valueText()).isEqualTo("the node's buffers for requests not yet run are full: all connections hold "
        + (2 * one + each) + " bytes, the limit is " + budget.limitBytes() + " (--max-input-buffer), and this connection"
        + " needs " + each + " more; closing the connection");
    assertThat((Object) second.readOutbound()).as("nothing after the refused frame is served").isNull();
    assertThat(second.isOpen()).isFalse();
    assertThat(budget.usedBytes()).as("the closed connection's held SET no longer counts").isEqualTo(one + each);

    held.get(0).complete(set(1, k, 1, 0).replyOk());
    first.runPendingTasks();
    assertThat(routed).extracting(Frame::requestId).containsExactly(1, 1, 2);
    assertThat(budget.usedBytes()).isZero();
    first.finishAndReleaseAll();
  }

  @Test
  void forwardsWaitingBehindAHeldWrite_pastTheNodeWideBound_peerAnsweredTryAgain_linkStaysUp() {
    List<HeldReply> held = new ArrayList<>();
    List<Frame> routed = new ArrayList<>();
    byte[] k = "k".getBytes(StandardCharsets.UTF_8);
    Frame waits = set(2, k, 400, io.distcache.protocol.Flags.FORWARDED);
    long each = BinaryRequestHandler.heldBytes(waits);
    InputBudget budget = new InputBudget(each + each / 2);
    BinaryRequestHandler handler = new BinaryRequestHandler(holdingOneByteSets(held, routed));
    EmbeddedChannel peer = metered(budget, handler);
    handler.becomePeer();

    send(peer, set(1, k, 1, io.distcache.protocol.Flags.FORWARDED), waits, set(3, k, 400, io.distcache.protocol.Flags.FORWARDED));

    Frame refusal = peer.readOutbound();
    assertThat(refusal.requestId()).isEqualTo(3);
    assertThat(refusal.status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(refusal.valueText()).startsWith("the node's buffers for requests not yet run are full")
        .endsWith("; not applied, try again");
    assertThat(peer.isOpen()).isTrue();
    held.get(0).complete(set(1, k, 1, 0).replyOk());
    peer.runPendingTasks();
    assertThat(routed).extracting(Frame::requestId).containsExactly(1, 2);
    assertThat(budget.usedBytes()).isZero();
    peer.finishAndReleaseAll();
  }

  private static Frame forwardedSet(int id, byte[] key) {
    return Frame.request(Opcode.SET, io.distcache.protocol.Flags.FORWARDED, key, "v".getBytes(StandardCharsets.UTF_8))
        .withRequestId(id);
  }

  private static byte[] keyOfSlot(java.util.function.Predicate<byte[]> ok) {
    for (int i = 0; ; i++) {
      byte[] k = ("k" + i).getBytes(StandardCharsets.UTF_8);
      if (ok.test(k)) {
        return k;
      }
    }
  }

  @Test
  void replies_flushedWhenTheEventLoopCycleEnds_lateRepliesToo() {
    List<CompletableFuture<Frame>> pending = new ArrayList<>();
    Router router = r -> {
      if (r.op() == Opcode.GET) {
        CompletableFuture<Frame> f = new CompletableFuture<>();
        pending.add(f);
        return f;
      }
      return CompletableFuture.completedFuture(r.replyValue(r.value()));
    };
    FlushCounter counter = new FlushCounter();
    EmbeddedChannel ch = new EmbeddedChannel(counter, new BinaryRequestHandler(router));
    // EmbeddedChannel runs pending tasks inside read(), which the pipeline's head calls after a
    // read completes while auto-read is on; a real transport only re-arms epoll there
    ch.config().setAutoRead(false);
    Frame get1 = Frame.request(Opcode.GET, "a".getBytes(StandardCharsets.UTF_8)).withRequestId(1);
    Frame get2 = Frame.request(Opcode.GET, "b".getBytes(StandardCharsets.UTF_8)).withRequestId(2);

    ch.pipeline().fireChannelRead(ping(7));
    ch.pipeline().fireChannelRead(get1);
    ch.pipeline().fireChannelRead(get2);
    ch.pipeline().fireChannelReadComplete();
    assertThat(counter.flushes).isZero();
    ch.runPendingTasks();
    assertThat(counter.flushes).isEqualTo(1);
    assertThat(((Frame) ch.readOutbound()).requestId()).isEqualTo(7);

    // a forwarded reply is written when it arrives and flushed with the cycle's other replies
    // (EmbeddedChannel runs queued tasks inside every write, so a burst is not observable here)
    pending.get(0).complete(get1.replyValue("x".getBytes(StandardCharsets.UTF_8)));
    assertThat(counter.flushes).isEqualTo(1);
    ch.runPendingTasks();
    assertThat(counter.flushes).isEqualTo(2);
    assertThat(((Frame) ch.readOutbound()).requestId()).isEqualTo(1);
    pending.get(1).complete(get2.replyValue("y".getBytes(StandardCharsets.UTF_8)));
    ch.runPendingTasks();
    assertThat(counter.flushes).isEqualTo(3);
    assertThat(((Frame) ch.readOutbound()).requestId()).isEqualTo(2);
    ch.finishAndReleaseAll();
  }

  @Test
  void channelRead_routerThrows_answersInternalErrorAndStaysOpen() {
    Router router = r -> {
      throw new IllegalStateException("boom");
    };
    EmbeddedChannel ch = new EmbeddedChannel(new BinaryRequestHandler(router));

    ch.writeInbound(ping(4));
    Frame reply = ch.readOutbound();

    assertThat(reply.status()).isEqualTo(Status.INTERNAL_ERROR);
    assertThat(reply.requestId()).isEqualTo(4);
    assertThat(reply.valueText()).contains("boom");
    assertThat(ch.isOpen()).isTrue();
    ch.finishAndReleaseAll();
  }

  @Test
  void exceptionCaught_frameTooLarge_answersTooLargeWithItsIdAndCloses() {
    EmbeddedChannel ch = new EmbeddedChannel(new BinaryRequestHandler(new MapRouter()));

    ch.pipeline()
        .fireExceptionCaught(new FrameTooLargeException("frame 5000 bytes exceeds the limit 1024", 77, Opcode.SET.code(), 0, 1, 4979));
    Frame reply = ch.readOutbound();

    assertThat(reply.status()).isEqualTo(Status.TOO_LARGE);
    assertThat(reply.requestId()).isEqualTo(77);
    assertThat(reply.op()).isEqualTo(Opcode.SET);
    assertThat(reply.valueText()).isEqualTo("frame 5000 bytes exceeds the limit 1024");
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void exceptionCaught_malformedFrame_closesWithoutReplyAndIgnoresLaterInput() {
    EmbeddedChannel ch = new EmbeddedChannel(new BinaryRequestHandler(new MapRouter()));

    ch.pipeline().fireExceptionCaught(new MalformedFrameException("bad magic 0x2a"));

    assertThat((Object) ch.readOutbound()).isNull();
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void channelRead_inFlightCapReached_stopsReadingUntilOneIsAnswered() {
    List<CompletableFuture<Frame>> pending = new ArrayList<>();
    Router router = r -> {
      CompletableFuture<Frame> f = new CompletableFuture<>();
      pending.add(f);
      return f;
    };
    EmbeddedChannel ch = new EmbeddedChannel(new BinaryRequestHandler(router, 3));

    ch.writeInbound(ping(1), ping(2));
    assertThat(ch.config().isAutoRead()).isTrue();
    ch.writeInbound(ping(3));
    assertThat(ch.config().isAutoRead()).isFalse();

    pending.get(0).complete(ping(1).replyValue(Frame.EMPTY));
    ch.runPendingTasks();
    assertThat(ch.config().isAutoRead()).isTrue();
    assertThat(((Frame) ch.readOutbound()).requestId()).isEqualTo(1);

    ch.writeInbound(ping(4));
    assertThat(ch.config().isAutoRead()).isFalse();
    ch.finishAndReleaseAll();
  }

  @Test
  void requestsInFlight_keepTheirBytesInTheNodeWideBound_untilAnswered_andPauseReadingWhileItIsFull() {
    List<CompletableFuture<Frame>> pending = new ArrayList<>();
    Router router = r -> {
      CompletableFuture<Frame> f = new CompletableFuture<>();
      pending.add(f);
      return f;
    };
    byte[] k = "k".getBytes(StandardCharsets.UTF_8);
    long each = BinaryRequestHandler.heldBytes(set(1, k, 4_000, 0));
    InputBudget budget = new InputBudget(2 * each + each / 2);
    EmbeddedChannel ch = metered(budget, new BinaryRequestHandler(router));

    send(ch, set(1, k, 4_000, 0), set(2, k, 4_000, 0));
    assertThat(budget.usedBytes()).as("two SETs waiting for their replies (forwarded, replicas)").isEqualTo(2 * each);
    assertThat(ch.config().isAutoRead()).isTrue();

    send(ch, set(3, k, 4_000, 0));
    assertThat(pending).as("it already ran: counted past the bound, not refused").hasSize(3);
    assertThat(budget.usedBytes()).isEqualTo(3 * each);
    assertThat(ch.config().isAutoRead()).as("reading stops while its own requests fill the bound").isFalse();
    EmbeddedChannel other = metered(budget, new BinaryRequestHandler(router));
    io.netty.buffer.ByteBuf half = Unpooled.buffer();
    io.distcache.protocol.FrameEncoder.write(set(9, k, 4_000, 0), half);
    other.writeInbound(half.retainedSlice(0, 3_000));
    half.release();
    other.runPendingTasks();
    assertThat(((Frame) other.readOutbound()).status()).as("another connection's incomplete frame is refused")
        .isEqualTo(Status.BUSY);
    assertThat(other.isOpen()).isFalse();

    pending.get(0).complete(set(1, k, 1, 0).replyOk());
    ch.runPendingTasks();
    assertThat(budget.usedBytes()).isEqualTo(2 * each);
    assertThat(ch.config().isAutoRead()).as("reading again once the bound has room").isTrue();
    pending.get(1).complete(set(2, k, 1, 0).replyOk());
    pending.get(2).complete(set(3, k, 1, 0).replyOk());
    ch.runPendingTasks();
    assertThat(budget.usedBytes()).isZero();
    ch.finishAndReleaseAll();
  }

  @Test
  void channelWritabilityChanged_writableAgainWhileAtTheCap_staysPaused() {
    List<CompletableFuture<Frame>> pending = new ArrayList<>();
    Router router = r -> {
      CompletableFuture<Frame> f = new CompletableFuture<>();
      pending.add(f);
      return f;
    };
    EmbeddedChannel ch = new EmbeddedChannel(WritabilityGate.INSTANCE, new BinaryRequestHandler(router, 1));
    ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(8, 16));
    ch.writeInbound(ping(1));

    ch.write(Unpooled.wrappedBuffer(new byte[32]));
    assertThat(ch.isWritable()).isFalse();
    ch.flush();
    assertThat(ch.isWritable()).isTrue();

    assertThat(ch.config().isAutoRead()).isFalse();
    pending.get(0).complete(ping(1).replyValue(Frame.EMPTY));
    ch.runPendingTasks();
    assertThat(ch.config().isAutoRead()).isTrue();
    ch.finishAndReleaseAll();
  }
}
