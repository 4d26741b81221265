package io.distcache.server.resp;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ValueSink;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandlerContext;
import java.nio.ByteBuffer;

/*
 * Design: SET with GET, GETSET, GETDEL and GETEX answer with a value the store holds (the old one,
 * or the one they remove), which used to reach the reply as a heap array of its size (the store's
 * copy in SetResult.previous or the response frame): a G1 humongous object from 512 KiB (issue 16).
 * GET's ValueSink writes straight into the reply buffer, which these cannot do: their answer is not
 * known to be a value until the write is done (a SET may still fail for memory after it read the
 * old value, GETEX's EXPIRE runs after its GET) and may wait for the replicas (sync replication),
 * so nothing may be in the stream before the response. So this sink takes the value off the heap
 * instead: the store lends it (a read-only view under the key's lock, before the write moves or
 * frees it) and it is copied into direct chunks from BulkChunkPool, held here until the response
 * arrives, then written as the bulk reply (or dropped, for an error). Small values (below
 * CHUNKED_BYTES) are copied into an array, as any small reply is.
 *
 * Ownership: the session offers the sink only while it sends the request (armed), only on its event
 * loop, so the store writes it at most once; the chunks are released when the reply has been
 * rendered (render) or, for a reply never rendered (the connection closed while it was parked), by
 * the session's releaseAll. Event loop only.
 */

/** A value the node lends to a reply that cannot be written before its response (see above). */
final class LentValue implements ValueSink, RespSession.Reply {

  /** Values of at least this size go into direct chunks; smaller ones into an array. */
  static final int CHUNKED_BYTES = RespDecoder.STREAM_BULK_BYTES;

  /** Renders the response; {@code lent} is the value the node lent, null when it came in the frame. */
  @FunctionalInterface
  interface Render {
    void write(Frame response, LentValue lent, RespWriter w);
  }

  private final ChannelHandlerContext ctx;
  private final byte[] key;
  private final Render render;
  /** True while the session sends the request this sink is attached to. */
  private boolean armed;
  private boolean lent;
  private byte[] small;
  private ByteBuf large;

  LentValue(ChannelHandlerContext ctx, byte[] key, Render render) {
    this.ctx = ctx;
    this.key = key;
    this.render = render;
  }

  void armed(boolean armed) {
    this.armed = armed;
  }

  @Override
  public boolean accepts(byte[] k) {
    return armed && k == key && ctx.executor().inEventLoop();
  }

  @Override
  public void accept(ByteBuffer value) {
    release(); // a second lending (no store path makes one) must not leak the first one's chunks
    int n = value.remaining();
    if (n < CHUNKED_BYTES) {
      small = new byte[n];
      value.get(small);
    } else {
      CompositeByteBuf chunks = ctx.alloc().compositeDirectBuffer(n / BulkChunkPool.CHUNK_BYTES + 1);
      try {
        int end = value.limit();
        while (value.position() < end) {
          ByteBuf chunk = BulkChunkPool.SHARED.take(ctx.alloc());
          int m = Math.min(chunk.writableBytes(), end - value.position());
          value.limit(value.position() + m);
          chunk.writeBytes(value); // cannot fail: m fits the chunk
          value.limit(end);
          chunks.addComponent(true, chunk); // filled first: a component's length is fixed when added
        }
      } catch (RuntimeException | Error e) { // OutOfDirectMemoryError too: the chunks taken go back
        chunks.release();
        throw e;
      }
      large = chunks;
    }
    lent = true;
  }

  /** Writes the lent value as a bulk string. */
  void writeBulk(RespWriter w) {
    if (large != null) {
      w.bulk(large);
    } else {
      w.bulk(small);
    }
  }

  @Override
  public void write(Frame response, RespWriter w) {
    try {
      render.write(response, lent ? this : null, w);
    } finally {
      release();
    }
  }

  /** Gives back the chunks (idempotent). */
  void release() {
    if (large != null) {
      ByteBuf b = large;
      large = null;
      b.release();
    }
    small = null;
  }
}
