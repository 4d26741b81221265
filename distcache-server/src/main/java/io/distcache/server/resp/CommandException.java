package io.distcache.server.resp;

/**
 * A command refused before it ran; the message is the whole Redis error line ("ERR syntax error").
 * Stackless: it is a reply, not a fault, and bad input from clients is routine.
 */
final class CommandException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  CommandException(String redisError) {
    super(redisError, null, false, false);
  }
}
