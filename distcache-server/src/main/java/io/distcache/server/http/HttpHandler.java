package io.distcache.server.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
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
 * most MAX_QUEUED (one more closes the connection) and run in order after it: responses stay in
 * request order and a client cannot queue unbounded work.
 */

/** Answers HTTP requests from HttpRoutes; closes on malformed requests and idle connections. */
final class HttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private final HttpRoutes routes;
  static final int MAX_QUEUED = 16;

  /** The client half-closed: close once the pending response, if any, is written. */
  private boolean inputClosed;
  /** A request is being answered. */
  private boolean busy;
  /** Requests decoded while busy (retained), in order. */
  private final java.util.ArrayDeque<FullHttpRequest> queued = new java.util.ArrayDeque<>();

  HttpHandler(HttpRoutes routes) {
    this.routes = routes;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    if (busy) {
      if (queued.size() >= MAX_QUEUED) {
        ctx.close();
        return;
      }
      queued.add(req.retain());
      return;
    }
    start(ctx, req);
  }

  private void start(ChannelHandlerContext ctx, FullHttpRequest req) {
    if (!req.decoderResult().isSuccess()) {
      send(ctx, HttpRoutes.Response.text(400, "bad request\n"), false, false);
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

  private void send(ChannelHandlerContext ctx, HttpRoutes.Response r, boolean keepAlive, boolean head) {
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
    busy = false;
    if (!keepAlive) {
      releaseQueued();
      f.addListener(ChannelFutureListener.CLOSE);
      return;
    }
    FullHttpRequest next = queued.poll();
    if (next != null) {
      try {
        start(ctx, next);
      } finally {
        next.release();
      }
    } else if (inputClosed) {
      f.addListener(ChannelFutureListener.CLOSE);
    } else {
      f.addListener(done -> {
        if (ctx.channel().isActive() && !busy) {
          ctx.channel().config().setAutoRead(true);
        }
      });
    }
  }

  private void releaseQueued() {
    FullHttpRequest r;
    while ((r = queued.poll()) != null) {
      r.release();
    }
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
