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
   * Null when the request may see the page; else why not: 401 with a Basic challenge when the
   * credentials are missing or wrong, 403 when their user may not see it. The routes ask this
   * once per request (a Basic check hashes the password); this default asks {@link #permits}.
   */
  default Refusal check(String authorization) {
    return permits(authorization) ? null : Refusal.CREDENTIALS;
  }

  /** Why a request may not see the page: its HTTP status (401 or 403) and the text answered. */
  record Refusal(int status, String text) {
    /** Missing or wrong credentials: 401 with a Basic challenge. */
    public static final Refusal CREDENTIALS = new Refusal(401, "credentials required");
  }

  /** Allows every request (no authentication configured). */
  static HttpAuthenticator allowAll() {
    return authorization -> true;
  }
}
