package io.distcache.server.security;

import io.distcache.server.http.HttpAuthenticator;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/*
 * Design: the admin page shows what CLUSTER and INFO show, so it asks for what a Redis connection
 * would: nothing while the default user needs no password, otherwise the name and password of an
 * enabled ACL user, sent as HTTP Basic credentials and checked against the same SHA-256 hashes as
 * AUTH. A password alone is the default user's, as AUTH with one argument is: Basic cannot send a
 * password without a user name, so browsers and `curl -u :password` send an empty one (":password"),
 * which means default; a header without a ':' (documented before browsers were considered) does
 * too. The cost: a user created with an empty name (ACL SETUSER "" ...) cannot open the page.
 * The header's length is already bounded by the HTTP decoder; a malformed one is simply refused.
 */
/** HTTP Basic credentials checked against the node's ACL users. */
public final class HttpBasicAuth implements HttpAuthenticator {
  private static final String SCHEME = "basic ";

  private final Users users;

  public HttpBasicAuth(Users users) {
    if (users == null) {
      throw new IllegalArgumentException("users are required");
    }
    this.users = users;
  }

  @Override
  public boolean permits(String authorization) {
    if (!users.authRequired()) {
      return true;
    }
    if (authorization == null || authorization.length() <= SCHEME.length()
        || !authorization.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
      return false;
    }
    byte[] decoded;
    try {
      decoded = Base64.getDecoder().decode(authorization.substring(SCHEME.length()).trim());
    } catch (IllegalArgumentException e) {
      return false;
    }
    int colon = -1;
    for (int i = 0; i < decoded.length; i++) {
      if (decoded[i] == ':') {
        colon = i;
        break;
      }
    }
    // An empty name is the default user's: Basic has no way to send a password without a name.
    String user = colon <= 0 ? Users.DEFAULT : new String(decoded, 0, colon, StandardCharsets.UTF_8);
    byte[] password = colon < 0 ? decoded : java.util.Arrays.copyOfRange(decoded, colon + 1, decoded.length);
    return users.authenticate(user, password) != null;
  }
}
