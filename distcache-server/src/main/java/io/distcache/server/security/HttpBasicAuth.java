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
 * A user must also be allowed the commands whose answers the page shows (CLUSTER NODES and INFO),
 * as its Redis connection would need them: an application's user limited to +@read ~cache:* could
 * see every member, address and figure before (a tester); it now gets 403 naming the command.
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

  /** The commands whose answers the page shows: its members and slots, and each member's figures. */
  static final java.util.List<String> PAGE_COMMANDS = java.util.List.of("cluster|nodes", "info");

  @Override
  public boolean permits(String authorization) {
    return check(authorization) == null;
  }

  @Override
  public Refusal check(String authorization) {
    User u = user(authorization);
    if (u == null) {
      return Refusal.CREDENTIALS;
    }
    for (String command : PAGE_COMMANDS) {
      if (!u.allows(command)) {
        return new Refusal(403, "user " + u.name() + " may not run "
            + command.replace('|', ' ').toUpperCase(java.util.Locale.ROOT)
            + ", which this page shows (it needs " + String.join(" and ", PAGE_COMMANDS) + ")");
      }
    }
    return null;
  }

  /** The user the credentials name and prove, the default user while none need proving, or null. */
  private User user(String authorization) {
    if (!users.authRequired()) {
      return users.get(Users.DEFAULT);
    }
    if (authorization == null || authorization.length() <= SCHEME.length()
        || !authorization.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
      return null;
    }
    byte[] decoded;
    try {
      decoded = Base64.getDecoder().decode(authorization.substring(SCHEME.length()).trim());
    } catch (IllegalArgumentException e) {
      return null;
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
    return users.authenticate(user, password);
  }
}
