package io.distcache.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.net.InputBudget;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** HttpHandler's bounds on responses a client does not read: one per connection, a node-wide sum. */
class HttpHandlerTest {
  /** Stands for a socket whose client does not read: takes writes and completes none until told. */
  private static final class StalledSocket extends ChannelOutboundHandlerAdapter {
    private final List<ChannelPromise> pending = new ArrayList<>();
    private final StringBuilder taken = new StringBuilder();

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      ByteBuf b = (ByteBuf) msg;
      taken.append(b.toString(StandardCharsets.US_ASCII));
      b.release();
      pending.add(promise);
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {}

    /** The client read everything written so far. */
    void drain() {
      List<ChannelPromise> done = new ArrayList<>(pending);
      pending.clear();
      done.forEach(ChannelPromise::trySuccess);
    }

    int responses() {
      return taken.toString().split("HTTP/1.1 ", -1).length - 1;
    }
  }

  private static final Health LIVE = new Health() {
    @Override
    public boolean live() {
      return true;
    }

    @Override
    public String notReady() {
      return null;
    }
  };

  private static HttpProtocol protocol(UnsentResponses unsent) {
    return protocol(unsent, new InputBudget(1L << 30));
  }

  private static HttpProtocol protocol(UnsentResponses unsent, InputBudget input) {
    return new HttpProtocol(new HttpRoutes(null, LIVE, authorization -> true, null), unsent, () -> input);
  }

  private static EmbeddedChannel channel(StalledSocket socket, HttpProtocol http) {
    EmbeddedChannel ch = new EmbeddedChannel(socket);
    http.install(ch.pipeline());
    return ch;
  }

  private static ByteBuf requests(int n) {
    return Unpooled.copiedBuffer("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".repeat(n), StandardCharsets.US_ASCII);
  }

  @Test
  void pipelinedRequests_clientNotReading_oneResponseHeldAtATime() {
    StalledSocket socket = new StalledSocket();
    UnsentResponses unsent = new UnsentResponses(UnsentResponses.DEFAULT_MAX_BYTES);
    EmbeddedChannel ch = channel(socket, protocol(unsent));

    ch.writeInbound(requests(HttpHandler.MAX_QUEUED + 1));

    // Before: all 17 were answered at once, and every response stayed in the node's memory.
    assertThat(socket.responses()).isEqualTo(1);
    assertThat(ch.pipeline().get(HttpHandler.class).queuedRequests()).isEqualTo(HttpHandler.MAX_QUEUED);
    assertThat(ch.config().isAutoRead()).isFalse();
    assertThat(unsent.used()).isEqualTo("ok\n".length() + HttpHandler.HEADER_ALLOWANCE);

    socket.drain();
    assertThat(socket.responses()).isEqualTo(2);
    for (int i = 0; i < HttpHandler.MAX_QUEUED; i++) {
      socket.drain();
    }
    assertThat(socket.responses()).isEqualTo(HttpHandler.MAX_QUEUED + 1);
    assertThat(unsent.used()).isZero();
    assertThat(ch.config().isAutoRead()).isTrue();
    assertThat(ch.isActive()).isTrue();
    ch.finishAndReleaseAll();
  }

  @Test
  void response_nodeWideBudgetFull_503AndClose() {
    UnsentResponses unsent = new UnsentResponses("ok\n".length() + HttpHandler.HEADER_ALLOWANCE);
    HttpProtocol http = protocol(unsent);
    StalledSocket first = new StalledSocket();
    EmbeddedChannel a = channel(first, http);
    a.writeInbound(requests(1));
    assertThat(first.responses()).isEqualTo(1);

    StalledSocket second = new StalledSocket();
    EmbeddedChannel b = channel(second, http);
    b.writeInbound(requests(1));
    assertThat(second.taken.toString()).startsWith("HTTP/1.1 503 Service Unavailable\r\n")
        .contains("Retry-After: 1")
        .endsWith("the node holds 259 bytes of HTTP responses its clients have not read, the limit is 259; retry later\n");
    second.drain();
    assertThat(b.isActive()).isFalse();

    first.drain();
    assertThat(unsent.used()).isZero();
    assertThat(a.isActive()).isTrue();
    a.finishAndReleaseAll();
    b.finishAndReleaseAll();
  }

  @Test
  void pipelinedRequests_nodeInputBudgetFull_queuedOnesAnsweredThen503AndClose() {
    long one = decodedSize(requests(1));
    InputBudget input = new InputBudget(2 * one); // room for two requests waiting, node-wide
    StalledSocket socket = new StalledSocket();
    EmbeddedChannel ch = channel(socket, protocol(new UnsentResponses(UnsentResponses.DEFAULT_MAX_BYTES), input));

    ch.writeInbound(requests(5)); // one answered, two queued, the fourth refused, the fifth dropped

    assertThat(ch.pipeline().get(HttpHandler.class).queuedRequests()).isEqualTo(3);
    assertThat(input.usedBytes()).isEqualTo(2 * one);
    assertThat(input.refusals()).isEqualTo(1);
    for (int i = 0; i < 3; i++) {
      socket.drain();
    }
    assertThat(socket.responses()).isEqualTo(4);
    assertThat(socket.taken.toString().split("HTTP/1.1 200 OK", -1)).hasSize(4);
    assertThat(socket.taken.toString()).contains("HTTP/1.1 503 Service Unavailable\r\n")
        .endsWith("the node holds " + 2 * one + " bytes of requests not yet answered or complete, the limit is "
            + 2 * one + ", this request needs " + one + "; retry later\n");
    socket.drain();
    assertThat(ch.isActive()).isFalse();
    assertThat(input.usedBytes()).isZero();
    ch.finishAndReleaseAll();
  }

  /** What one request counts once decoded as the node decodes it (the aggregator adds headers). */
  private static long decodedSize(ByteBuf wire) {
    EmbeddedChannel decoder = new EmbeddedChannel(new io.netty.handler.codec.http.HttpServerCodec(),
        new io.netty.handler.codec.http.HttpObjectAggregator(HttpProtocol.MAX_BODY));
    decoder.writeInbound(wire);
    io.netty.handler.codec.http.FullHttpRequest req = decoder.readInbound();
    try {
      return HttpHandler.size(req);
    } finally {
      req.release();
      decoder.finishAndReleaseAll();
    }
  }

  @Test
  void pipelinedRequests_oneMoreThanTheQueueHolds_earlierOnesAnswered_then429AndClose() {
    StalledSocket socket = new StalledSocket();
    EmbeddedChannel ch = channel(socket, protocol(new UnsentResponses(UnsentResponses.DEFAULT_MAX_BYTES)));

    ch.writeInbound(requests(HttpHandler.MAX_QUEUED + 3)); // one answered, 16 queued, one refused, one dropped

    assertThat(ch.isActive()).isTrue(); // before: closed at once, the 17 accepted ones unanswered
    for (int i = 0; i <= HttpHandler.MAX_QUEUED; i++) {
      socket.drain();
    }
    assertThat(socket.responses()).isEqualTo(HttpHandler.MAX_QUEUED + 2);
    assertThat(socket.taken.toString().split("HTTP/1.1 200 OK", -1)).hasSize(HttpHandler.MAX_QUEUED + 2);
    assertThat(socket.taken.toString()).contains("HTTP/1.1 429 Too Many Requests\r\n")
        .endsWith("more than 16 requests pipelined behind the one being answered, the limit; the connection closes:"
            + " send fewer at once\n");
    socket.drain();
    assertThat(ch.isActive()).isFalse();
    ch.finishAndReleaseAll();
  }

  @Test
  void pipelinedRequests_connectionClosedWhileQueued_budgetGivenBack() {
    InputBudget input = new InputBudget(1L << 20);
    StalledSocket socket = new StalledSocket();
    EmbeddedChannel ch = channel(socket, protocol(new UnsentResponses(UnsentResponses.DEFAULT_MAX_BYTES), input));
    ch.writeInbound(requests(4));
    assertThat(input.usedBytes()).isPositive();

    ch.close();

    assertThat(input.usedBytes()).isZero();
    ch.finishAndReleaseAll();
  }

  @Test
  void request_versionOtherThan1_505AndClose() {
    StalledSocket socket = new StalledSocket();
    EmbeddedChannel ch = channel(socket, protocol(new UnsentResponses(UnsentResponses.DEFAULT_MAX_BYTES)));
    ch.writeInbound(Unpooled.copiedBuffer("GET / HTTP/9.9\r\nHost: x\r\n\r\n", StandardCharsets.US_ASCII));
    assertThat(socket.taken.toString()).startsWith("HTTP/1.1 505 HTTP Version Not Supported\r\n")
        .endsWith("HTTP version HTTP/9.9 not supported: use HTTP/1.1\n");
    socket.drain();
    assertThat(ch.isActive()).isFalse();
    ch.finishAndReleaseAll();
  }
}
