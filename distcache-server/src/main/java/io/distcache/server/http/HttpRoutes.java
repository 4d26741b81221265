package io.distcache.server.http;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/*
 * Design: the one table of what the HTTP side serves, kept apart from Netty so it can be tested
 * as a function: (method, path, Authorization header) -> response. Only GET and HEAD exist; a
 * known path with another method is 405 with Allow, any other path 404, and neither runs anything.
 * /metrics and the health checks are open (Prometheus and the kubelet do not log in, and they
 * reveal no keys); every other page asks the HttpAuthenticator, the single point where the
 * security layer checks Basic credentials. A scrape runs on NodeMetrics's own thread, never on
 * an event loop, so it cannot delay requests; the rest answers at once.
 */

/** Which response each HTTP request gets. */
final class HttpRoutes {
  static final String TEXT = "text/plain; charset=utf-8";

  /** A complete response: status, content type, body, and extra headers as name/value pairs. */
  record Response(int status, String contentType, byte[] body, String... headers) {
    static Response text(int status, String text, String... headers) {
      return new Response(status, TEXT, text.getBytes(StandardCharsets.UTF_8), headers);
    }
  }

  private final NodeMetrics metrics;
  private final Health health;
  private final HttpAuthenticator auth;
  /** Null: no admin page (/ and /api/cluster are 404). */
  private final AdminPage admin;

  HttpRoutes(NodeMetrics metrics, Health health, HttpAuthenticator auth, AdminPage admin) {
    this.metrics = metrics;
    this.health = health;
    this.auth = auth;
    this.admin = admin;
  }

  CompletableFuture<Response> handle(String method, String path, String authorization) {
    boolean page = admin != null && (path.equals("/") || path.equals("/api/cluster"));
    boolean known = page || path.equals("/metrics") || path.equals("/healthz") || path.equals("/readyz");
    if (!known) {
      return done(Response.text(404, "not found: " + path + "\n"));
    }
    if (!method.equals("GET") && !method.equals("HEAD")) {
      return done(Response.text(405, "method " + method + " not allowed: use GET or HEAD\n", "Allow", "GET, HEAD"));
    }
    HttpAuthenticator.Refusal refused = page ? auth.check(authorization) : null;
    if (refused != null) {
      return done(refused.status() == 401
          ? Response.text(401, refused.text() + "\n", "WWW-Authenticate", "Basic realm=\"distcache\"")
          : Response.text(refused.status(), refused.text() + "\n"));
    }
    switch (path) {
      case "/" -> {
        return done(new Response(200, "text/html; charset=utf-8", admin.html()));
      }
      case "/api/cluster" -> {
        return admin.clusterJson().thenApply(json -> new Response(200, "application/json", json));
      }
      case "/healthz" -> {
        return done(health.live() ? Response.text(200, "ok\n") : Response.text(503, "stopped\n"));
      }
      case "/readyz" -> {
        String why = health.notReady();
        return done(why == null ? Response.text(200, "ready\n") : Response.text(503, "not ready: " + why + "\n"));
      }
      default -> {
        return metrics.scrape()
            .thenApply(body -> new Response(200, NodeMetrics.CONTENT_TYPE, body))
            .exceptionally(e -> Response.text(503, "metrics unavailable: " + rootMessage(e) + "\n", "Retry-After", "1"));
      }
    }
  }

  private static String rootMessage(Throwable e) {
    while (e.getCause() != null) {
      e = e.getCause();
    }
    return String.valueOf(e.getMessage());
  }

  private static CompletableFuture<Response> done(Response r) {
    return CompletableFuture.completedFuture(r);
  }
}
