package io.distcache.server.resp;

import java.nio.charset.StandardCharsets;

/*
 * Design: what the slow log and MONITOR show of a command must not leak credentials. As Redis
 * does, the arguments of AUTH and HELLO (which may carry AUTH user password) are shown as
 * "(redacted)", and so is the value of CONFIG SET requirepass (Redis hides the values of its
 * "sensitive" settings the same way). Only commands that reach the slow log or a monitor pay for
 * the check.
 */

/** Hides credentials in commands shown to operators. */
final class Redaction {
  private Redaction() {}

  static final byte[] REDACTED = "(redacted)".getBytes(StandardCharsets.US_ASCII);

  /** {@code args}, or a copy with every argument after the name redacted when it can carry a password. */
  static byte[][] of(byte[][] args) {
    if (args.length >= 4 && Args.is(args[0], "config") && Args.is(args[1], "set")) {
      return configSet(args);
    }
    if (args.length < 2 || !(Args.is(args[0], "auth") || Args.is(args[0], "hello"))) {
      return args;
    }
    byte[][] out = new byte[args.length][];
    out[0] = args[0];
    for (int i = 1; i < args.length; i++) {
      out[i] = REDACTED;
    }
    return out;
  }

  /** CONFIG SET with the value of each requirepass pair hidden; {@code args} itself when it has none. */
  private static byte[][] configSet(byte[][] args) {
    byte[][] out = args;
    for (int i = 2; i + 1 < args.length; i += 2) {
      if (Args.is(args[i], "requirepass")) {
        if (out == args) {
          out = args.clone();
        }
        out[i + 1] = REDACTED;
      }
    }
    return out;
  }
}
