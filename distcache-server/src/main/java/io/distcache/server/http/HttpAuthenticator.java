package io.distcache.server.http;

/**
 * Decides whether an HTTP request may see a page other than /metrics and the health checks (the
 * admin page). The one place where HTTP Basic credentials are checked: the security layer (ACL
 * users) plugs its check in here; until it exists every request is allowed, as every Redis
 * connection is.
 */
@FunctionalInterface
public interface HttpAuthenticator {

  /**
   * @param authorization the request's {@code Authorization} header, or null when it has none
   * @return true when the request may see the page; false answers 401 with a Basic challenge
   */
  boolean permits(String authorization);

  /**
   * Called once {@link #permits} said yes: why the credentials' user may still not see the page
   * (answered 403 with this text), or null when it may.
   */
  default String forbidden(String authorization) {
    return null;
  }

  /** Allows every request (no authentication configured). */
  static HttpAuthenticator allowAll() {
    return authorization -> true;
  }
}
