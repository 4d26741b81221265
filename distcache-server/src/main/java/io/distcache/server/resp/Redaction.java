package io.distcache.server.resp;

import java.nio.charset.StandardCharsets;

/*
 * Design: what the slow log and MONITOR show of a command must not leak credentials. As Redis
 * does, the arguments of AUTH and HELLO (which may carry AUTH user password) are shown as
 * "(redacted)". Only commands that reach the slow log or a monitor pay for the check.
 */

/** Hides credentials in commands shown to operators. */
final class Redaction {
  private Redaction() {}

  static final byte[] REDACTED = "(redacted)".getBytes(StandardCharsets.US_ASCII);

  /** {@code args}, or a copy with every argument after the name redacted when it can carry a password. */
  static byte[][] of(byte[][] args) {
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
}
