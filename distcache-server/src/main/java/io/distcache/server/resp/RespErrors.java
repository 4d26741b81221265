package io.distcache.server.resp;

import io.distcache.protocol.Frame;

/** Redis's error texts, and the one table mapping binary-protocol statuses back to them. */
final class RespErrors {
  private RespErrors() {}

  static final String SYNTAX = "ERR syntax error";
  static final String NOT_INTEGER = "ERR value is not an integer or out of range";
  static final String NOT_FLOAT = "ERR value is not a valid float";
  static final String OVERFLOW = "ERR increment or decrement would overflow";
  static final String FLOAT_OVERFLOW = "ERR increment would produce NaN or Infinity";
  static final String OOM = "OOM command not allowed when used memory > 'maxmemory'.";
  static final String TOO_LARGE = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
  static final String NOAUTH = "NOAUTH Authentication required.";
  static final String WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled.";
  static final String AUTH_WITHOUT_PASSWORD =
      "ERR AUTH <password> called without any password configured for the default user. "
          + "Are you sure your configuration is correct?";
  static final String NOAUTH_HELLO =
      "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass>"
          + " option can be used to authenticate the client and select the RESP protocol version at the same time";
  static final String NOPERM_KEY = "NOPERM No permissions to access a key";
  static final String NOPERM_CHANNEL = "NOPERM No permissions to access a channel";
  /** Redis's protected-mode refusal, word for word. */
  static final String DENIED = "DENIED Redis is running in protected mode because protected mode is enabled and no password is"
      + " set for the default user. In this mode connections are only accepted from the loopback interface. If you want"
      + " to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable"
      + " protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to"
      + " Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from"
      + " internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable"
      + " the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and"
      + " then restarting the server. 3) If you started the server manually just for testing, restart it with the"
      + " '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need"
      + " to do one of the above things in order for the server to start accepting connections from the outside.";

  static String nopermCommand(String user, String fullName) {
    return "NOPERM User " + user + " has no permissions to run the '" + fullName + "' command";
  }

  static final String DB_OUT_OF_RANGE = "ERR DB index is out of range";
  static final String INVALID_CURSOR = "ERR invalid cursor";
  static final String OFFSET_OUT_OF_RANGE = "ERR offset is out of range";
  static final String WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";
  static final String CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";
  static final String EXECABORT = "EXECABORT Transaction discarded because of previous errors.";
  static final String BAD_CLIENT_NAME =
      "ERR Client names cannot contain spaces, newlines or special characters.";

  static String wrongArity(String fullName) {
    return "ERR wrong number of arguments for '" + fullName + "' command";
  }

  static String invalidExpire(String command) {
    return "ERR invalid expire time in '" + command + "' command";
  }

  static String unknownSubcommand(byte[] sub, String command) {
    return "ERR unknown subcommand '" + truncate(Args.latin1(sub), 128) + "'. Try " + command.toUpperCase(java.util.Locale.ROOT) + " HELP.";
  }

  /** Redis's text, quoting at most about 128 bytes of the arguments. */
  static String unknownCommand(byte[][] args) {
    StringBuilder quoted = new StringBuilder();
    for (int i = 1; i < args.length && quoted.length() < 128; i++) {
      quoted.append('\'').append(truncate(Args.latin1(args[i]), 128 - quoted.length())).append("' ");
    }
    return "ERR unknown command '" + truncate(Args.latin1(args[0]), 128) + "', with args beginning with: " + quoted;
  }

  /**
   * The error for a response whose status is an error. {@code numberKind} picks the wording for
   * NOT_A_NUMBER and OVERFLOW: integer commands and INCRBYFLOAT differ in Redis.
   */
  static String fromStatus(Frame response, boolean floatCommand) {
    return switch (response.status()) {
      case OUT_OF_MEMORY -> OOM;
      // A reply over the frame limit (MGET, EXEC of many large values) says so; a value over the
      // value limit has Redis's text.
      case TOO_LARGE -> response.valueText().contains("max frame") ? "ERR " + response.valueText() : TOO_LARGE;
      case NOT_A_NUMBER -> floatCommand ? NOT_FLOAT : NOT_INTEGER;
      case OVERFLOW -> floatCommand ? FLOAT_OVERFLOW : OVERFLOW;
      case AUTH_REQUIRED -> NOAUTH;
      case BUSY -> "BUSY " + message(response, "the node is busy, try again later");
      case TRY_AGAIN -> "TRYAGAIN " + message(response, "the key's slot is changing owner, try again later");
      // The router's answer to a ROUTED request for a slot owned elsewhere: extras [epoch, slot].
      case NOT_OWNER -> "MOVED " + response.extra(1, 0) + " " + response.valueText();
      case CROSS_SLOT -> CROSSSLOT;
      case WRONG_TYPE -> WRONGTYPE;
      case SCRIPT_BUSY -> response.valueText().startsWith("BUSY ")
          ? response.valueText() : io.distcache.server.cluster.ScriptHost.BUSY_MESSAGE;
      default -> "ERR " + message(response, response.status().name().toLowerCase(java.util.Locale.ROOT));
    };
  }

  private static String message(Frame response, String fallback) {
    String text = response.valueText();
    return text.isEmpty() ? fallback : text;
  }

  private static String truncate(String s, int max) {
    return s.length() <= max ? s : s.substring(0, Math.max(0, max));
  }
}
