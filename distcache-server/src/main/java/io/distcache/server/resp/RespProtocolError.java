package io.distcache.server.resp;

/**
 * The decoder met a malformed request. The handler answers it after the requests decoded before it
 * and then closes the connection, as Redis does; the decoder reads nothing more.
 */
final class RespProtocolError {
  final String message;

  RespProtocolError(String message) {
    this.message = message;
  }
}
