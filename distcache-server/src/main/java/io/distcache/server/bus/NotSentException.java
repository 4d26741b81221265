package io.distcache.server.bus;

import java.net.ConnectException;

/**
 * A request failed before any byte of it left this node: the peer could not be connected to (or
 * was refused moments ago and is not dialled again yet). Unlike a connection lost with the request
 * on it, the peer cannot have applied it, so the sender may send it again elsewhere without
 * applying it twice (ClusterRouter holds such a forward until its slot's owner changes).
 */
public final class NotSentException extends ConnectException {
  private static final long serialVersionUID = 1L;

  public NotSentException(String message) {
    super(message);
  }
}
