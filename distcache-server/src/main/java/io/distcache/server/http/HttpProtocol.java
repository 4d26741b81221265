package io.distcache.server.http;

import io.distcache.server.net.InputBudget;
import io.distcache.server.net.ProtocolInstaller;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/*
 * Design: the HTTP side of the node (HttpRoutes says which paths exist), installed on a connection of the node's port whose first
 * line is an HTTP/1.x request line (net/ProtocolDetector), and on every connection of --http-port.
 * Netty's codec parses, within fixed bounds: a 4 KiB request line, 8 KiB of headers, a 4 KiB body
 * (GET and HEAD have none; a bigger one gets 413 and the connection closes); a longer line gets
 * 414, longer headers 431, a version other than 1.x 505, each then a close (HttpHandler). A
 * connection idle for IDLE_SECONDS is closed, so a browser's keep-alive connections do not stay
 * forever, nor one whose client stopped reading a response. Responses not yet sent are bounded per
 * connection (one) and node-wide (UnsentResponses); pipelined requests waiting their turn per
 * connection (HttpHandler.MAX_QUEUED) and node-wide (the node's InputBudget, shared with Redis and
 * binary connections' incomplete requests).
 */

/** Installs the HTTP handlers: /metrics, /healthz, /readyz, the admin page. */
public final class HttpProtocol implements ProtocolInstaller {
  static final int MAX_INITIAL_LINE = 4096;
  static final int MAX_HEADERS = 8192;
  static final int MAX_BODY = 4096;
  static final int IDLE_SECONDS = 60;

  private final HttpRoutes routes;
  /** Shared by every HTTP connection of the node (its port and --http-port). */
  private final UnsentResponses unsent;
  /** The node's budget for requests held (net/InputBudget); asked for at each connection. */
  private final Supplier<InputBudget> input;

  /**
   * @param admin the admin page, or null for none
   * @param input the node's InputBudget, which pipelined requests waiting their turn count against
   *     (a supplier: the budget belongs to the server, made after this)
   * @param heap the node's limit on its heap budgets together, where unsent responses count too
   */
  public HttpProtocol(NodeMetrics metrics, Health health, HttpAuthenticator auth, AdminPage admin,
      Supplier<InputBudget> input, io.distcache.server.HeapBudgets heap) {
    this(new HttpRoutes(metrics, health, auth, admin), new UnsentResponses(UnsentResponses.DEFAULT_MAX_BYTES, heap),
        input);
  }

  HttpProtocol(HttpRoutes routes, UnsentResponses unsent, Supplier<InputBudget> input) {
    this.routes = routes;
    this.unsent = unsent;
    this.input = input;
  }

  @Override
  public void install(ChannelPipeline pipeline) {
    pipeline.addLast("http-idle", new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS));
    pipeline.addLast("http-codec", new HttpServerCodec(MAX_INITIAL_LINE, MAX_HEADERS, MAX_INITIAL_LINE));
    pipeline.addLast("http-aggregator", new HttpObjectAggregator(MAX_BODY));
    pipeline.addLast("http-handler", new HttpHandler(routes, unsent, input.get()));
  }
}
