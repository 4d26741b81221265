package io.distcache.protocol;

import java.nio.ByteBuffer;
import java.util.function.Consumer;

/*
 * Design: a GET's value used to travel from the store to the client as a heap array of its size
 * (the store copied it out, the frame carried it, the connection copied it again into its reply
 * buffer): a 1 MiB GET made a G1 humongous object per request (issue 16). A connection that can
 * take the value where it stands attaches a sink to its GET; the node that serves the GET locally
 * has the store lend the value (a read-only view, under the entry's lock) and the sink copies it
 * straight into the reply: one copy, no array.
 *
 * The sink is in-process only: it is never encoded, so a request forwarded to another node, queued
 * in a TRANSACTION or handed to a script loses it and its value comes back in the frame as before.
 * A sink also refuses a value it is offered at the wrong time (accepts): only on its connection's
 * thread, and only for the request it is attached to while that request is being sent; a request
 * that waited (for a slot, behind a script) and runs later is answered in the frame.
 */

/**
 * Where the node serving a GET may write the value instead of into the reply frame. The reply then
 * says OK with an empty value, and its requester knows from its sink that the value was written.
 */
public interface ValueSink extends Consumer<ByteBuffer> {

  /** True when the value of the request for {@code key} (that very array) may be written now. */
  boolean accepts(byte[] key);

  /**
   * Writes the value: {@code value}'s bytes from its position to its limit, lent for this call
   * only (the caller holds a lock; do not keep the buffer, do not call the store).
   */
  @Override
  void accept(ByteBuffer value);
}
