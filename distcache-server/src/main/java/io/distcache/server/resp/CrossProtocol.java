package io.distcache.server.resp;

/*
 * Design: a browser can be made to POST to any host and port, and an HTTP request's lines are
 * valid inline Redis commands: "POST / HTTP/1.1", "Host: ...", headers, then a body of commands
 * that would run (the test stored "SET pwned yes"). Redis closes a connection whose command
 * is POST or Host:, executing nothing from that point on; so does distcache, checked before any
 * other rule (authentication included) so the body never runs. Checked on the name's bytes: one
 * length test for every other command.
 */

/** Redis's cross-protocol scripting rule: a command named POST or Host: ends the connection. */
final class CrossProtocol {
  private CrossProtocol() {}

  /** True when {@code name} is POST or HOST: in any letter case. */
  static boolean isHttpLine(byte[] name) {
    return (name.length == 4 && folds(name, "post")) || (name.length == 5 && folds(name, "host:"));
  }

  private static boolean folds(byte[] name, String lower) {
    for (int i = 0; i < name.length; i++) {
      int b = name[i];
      if (b >= 'A' && b <= 'Z') {
        b += 'a' - 'A';
      }
      if (b != lower.charAt(i)) {
        return false;
      }
    }
    return true;
  }
}
