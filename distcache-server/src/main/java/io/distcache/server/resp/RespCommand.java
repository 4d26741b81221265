package io.distcache.server.resp;

/** One decoded Redis request: the command name and its arguments, as sent. */
final class RespCommand {
  final byte[][] args;

  RespCommand(byte[][] args) {
    this.args = args;
  }
}
