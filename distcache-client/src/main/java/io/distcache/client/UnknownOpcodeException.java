package io.distcache.client;

import io.distcache.protocol.Status;

/** The node does not know the operation (it runs an older version). Status {@link Status#UNKNOWN_OPCODE}. */
public class UnknownOpcodeException extends DistCacheException {
  private static final long serialVersionUID = 1L;

  /**
   * The exception.
   *
   * @param message what failed, with the node's text
   */
  public UnknownOpcodeException(String message) {
    super(Status.UNKNOWN_OPCODE, message);
  }
}
