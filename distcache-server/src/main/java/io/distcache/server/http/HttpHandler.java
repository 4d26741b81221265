package io.distcache.server.http;

import io.distcache.server.net.InputBudget;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.IdleStateEvent;

/*
 * Design: one request at a time per connection. HTTP/1.1 lets a client pipeline requests, and a
 * scrape answers later (on the metrics thread), so reading pauses while a response is pending and
 * resumes once it is written. Requests already decoded from the same read wait in a queue of at
 * most MAX_QUEUED and run in order after it: responses stay in request order and a client cannot
 * queue unbounded work. One more is answered 429 in its turn (those before it are answered first)
 * and the connection closes; what follows it in the same read is dropped.
 *
 * "Written" means the write completed: the kernel took every byte. The next request is answered
 * only then, so a client that pipelines and does not read leaves at most one response in the
 * node's memory (300 such connections asking for /metrics grew the node to 2.25 GB when each
 * queued request was answered at once); the node-wide sum is bounded by UnsentResponses, and
 * IDLE_SECONDS closes a connection whose response is never read. A writability change (the
 * WritabilityGate turns reading back on) does not resume reading while a request is answered.
 *
 * Queued requests count against the node's InputBudget until their turn (their line, headers and
 * body, plus QUEUED_ALLOWANCE for the objects holding them): 16 per connection times thousands of
 * connections with 12 KiB of headers each would otherwise fill the heap. One the budget refuses is
 * answered 503 in its turn, after those queued before it, and the connection closes; the requests
 * after it in the same read are dropped unanswered.
 *
 * A request the codec could not decode gets its HTTP status and a close: 414 for a request line
 * over the limit, 431 for headers over it, 400 otherwise; a version other than HTTP/1.x gets 505.
 */

/** Answers HTTP requests from HttpRoutes; closes on malformed requests and idle connections. */
final class HttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private final HttpRoutes routes;
  private final UnsentResponses unsent;
  private final InputBudget input;
  static final int MAX_QUEUED = 16;
  /** Counted for a response's status line and headers besides its body. */
  static final int HEADER_ALLOWANCE = 256;
  /** Counted for a queued request's objects besides its bytes. */
  static final int QUEUED_ALLOWANCE = 512;

  /**
   * A request waiting its turn and what it counts in the InputBudget; a null request was refused
   * (too many queued, or the InputBudget full) and is answered {@code status} with {@code refusal},
   * the reason as it was then.
   */
  private record Waiting(FullHttpRequest request, long bytes, int status, String refusal) {}

  /** The client half-closed: close once the pending response, if any, is written. */
  private boolean inputClosed;
  /** A request is being answered. */
  private boolean busy;
  /** Requests decoded while busy (retained), in order. */
  private final java.util.ArrayDeque<Waiting> queued = new java.util.ArrayDeque<>();
  /** What the queued requests count in the InputBudget. */
  private long held;
  /** The InputBudget refused a request: nothing more is queued. */
  private boolean refused;

  HttpHandler(HttpRoutes routes, UnsentResponses unsent, InputBudget input) {
    this.routes = routes;
    this.unsent = unsent;
    this.input = input;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    if (busy) {
      if (refused) {
        return; // after a refused one: dropped, the connection closes after the refusal's answer
      }
      if (queued.size() >= MAX_QUEUED) {
        refused = true;
        queued.add(new Waiting(null, 0, 429, "more than " + MAX_QUEUED + " requests pipelined behind the one being"
            + " answered, the limit; the connection closes: send fewer at once\n"));
        return;
      }
      long bytes = size(req);
      if (!input.resize(held, held + bytes)) {
        refused = true;
        queued.add(new Waiting(null, 0, 503, (input.parentRefused(bytes)
            ? "this request (" + bytes + " bytes) " + input.heap().overLimit()
            : "the node holds " + input.usedBytes() + " bytes of requests not yet answered or complete, the limit is "
                + input.limitBytes() + ", this request needs " + bytes) + "; retry later\n"));
        return;
      }
      held += bytes;
      queued.add(new Waiting(req.retain(), bytes, 0, null));
      return;
    }
    start(ctx, req);
  }

  /** What a decoded request holds: its line, headers and body, and the objects around them. */
  static long size(FullHttpRequest req) {
    long bytes = QUEUED_ALLOWANCE + req.uri().length() + req.content().readableBytes();
    for (java.util.Map.Entry<String, String> h : req.headers()) {
      bytes += h.getKey().length() + h.getValue().length() + 4;
    }
    return bytes;
  }

  private void start(ChannelHandlerContext ctx, FullHttpRequest req) {
    if (!req.decoderResult().isSuccess()) {
      busy = true;
      send(ctx, undecodable(req.decoderResult().cause()), false, false);
      return;
    }
    if (req.protocolVersion().majorVersion() != 1) {
      busy = true;
      send(ctx, HttpRoutes.Response.text(505, "HTTP version " + req.protocolVersion().text()
          + " not supported: use HTTP/1.1\n"), false, false);
      return;
    }
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    boolean head = req.method().equals(HttpMethod.HEAD);
    String path = new QueryStringDecoder(req.uri()).path();
    String authorization = req.headers().get(HttpHeaderNames.AUTHORIZATION);
    busy = true;
    ctx.channel().config().setAutoRead(false);
    routes.handle(req.method().name(), path, authorization).whenComplete((r, e) -> {
      HttpRoutes.Response response = e != null ? HttpRoutes.Response.text(500, "internal error\n") : r;
      if (ctx.executor().inEventLoop()) {
        send(ctx, response, keepAlive, head);
      } else {
        ctx.executor().execute(() -> send(ctx, response, keepAlive, head));
      }
    });
  }

  /** The status for a request the codec could not decode (see the Design note). */
  private static HttpRoutes.Response undecodable(Throwable cause) {
    if (cause instanceof io.netty.handler.codec.http.TooLongHttpLineException) {
      return HttpRoutes.Response.text(414, "request line longer than " + HttpProtocol.MAX_INITIAL_LINE
          + " bytes, the limit\n");
    }
    if (cause instanceof io.netty.handler.codec.http.TooLongHttpHeaderException) {
      return HttpRoutes.Response.text(431, "request headers longer than " + HttpProtocol.MAX_HEADERS
          + " bytes, the limit\n");
    }
    return HttpRoutes.Response.text(400, "bad request\n");
  }

  private void send(ChannelHandlerContext ctx, HttpRoutes.Response r, boolean keepAlive, boolean head) {
    if (!ctx.channel().isActive()) {
      busy = false;
      releaseQueued();
      return;
    }
    long cost = (head ? 0 : r.body().length) + HEADER_ALLOWANCE;
    if (!unsent.take(cost)) {
      cost = 0;
      keepAlive = false;
      head = false;
      r = HttpRoutes.Response.text(503, "the node holds " + unsent.used() + " bytes of HTTP responses its clients"
          + " have not read, the limit is " + unsent.max() + "; retry later\n", "Retry-After", "1");
    }
    FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()),
        head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(r.body()));
    res.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
    res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
    res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    for (int i = 0; i + 1 < r.headers().length; i += 2) {
      res.headers().set(r.headers()[i], r.headers()[i + 1]);
    }
    if (keepAlive) {
      res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
    } else {
      res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    ChannelFuture f = ctx.writeAndFlush(res);
    long taken = cost;
    boolean again = keepAlive;
    f.addListener(done -> {
      unsent.release(taken);
      written(ctx, again && done.isSuccess());
    });
  }

  /** The last response is written (the kernel has it): the next request, or reading again. */
  private void written(ChannelHandlerContext ctx, boolean keepAlive) {
    busy = false;
    if (!keepAlive || !ctx.channel().isActive()) {
      releaseQueued();
      ctx.close();
      return;
    }
    Waiting next = queued.poll();
    if (next != null && next.request() == null) {
      busy = true;
      send(ctx, HttpRoutes.Response.text(next.status(), next.refusal(), "Retry-After", "1"), false, false);
    } else if (next != null) {
      input.resize(held, held - next.bytes());
      held -= next.bytes();
      try {
        start(ctx, next.request());
      } finally {
        next.request().release();
      }
    } else if (inputClosed) {
      ctx.close();
    } else {
      ctx.channel().config().setAutoRead(true);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (busy) {
      ctx.channel().config().setAutoRead(false); // the gate before us turned it on: not yet
    }
    ctx.fireChannelWritabilityChanged();
  }

  /** Requests waiting behind the one being answered (tests). */
  int queuedRequests() {
    return queued.size();
  }

  private void releaseQueued() {
    Waiting w;
    while ((w = queued.poll()) != null) {
      if (w.request() != null) {
        w.request().release();
      }
    }
    input.resize(held, 0);
    held = 0;
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    releaseQueued();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof IdleStateEvent) {
      ctx.close();
      return;
    }
    if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
      // Half-closed: a pending response still goes out (the channel allows half-closure), then close.
      inputClosed = true;
      if (!busy) {
        ctx.close();
      }
      return;
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
