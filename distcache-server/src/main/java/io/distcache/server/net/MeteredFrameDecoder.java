package io.distcache.server.net;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameDecoder;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The binary protocol's decoder on client and peer connections: a FrameDecoder that reports to the
 * connection's InputMeter after every read what it holds of a frame not yet complete (its
 * cumulation and a large frame's gathered bytes), and refuses the connection (an error frame, then
 * the close) when the node-wide bound or the request deadline says so. The error frame carries the pending frame's opcode and request id when its header has
 * arrived (so the client can match it), else request id 0.
 */
final class MeteredFrameDecoder extends FrameDecoder {
  private ChannelHandlerContext ctx;
  private InputMeter meter;
  private int completed;
  private boolean refused;

  MeteredFrameDecoder(int maxFrameBytes) {
    super(maxFrameBytes);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
    this.ctx = ctx;
    meter = InputMeter.of(ctx.channel());
    meter.refuser(this::refuse);
    super.handlerAdded(ctx);
  }

  /**
   * A REPLICATE batch's large value stays in the chunks it was gathered in: ReplicaApplier reads
   * the batch from them and the store copies a large string from there (issue 16: joined, then
   * decoded, it made two heap arrays of the value's size on the replica).
   */
  @Override
  protected boolean lendsChunks(Frame head) {
    return head.opcode() == Opcode.REPLICATE.code() && !head.isResponse();
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (refused) {
      in.skipBytes(in.readableBytes());
      return;
    }
    int before = out.size();
    super.decode(ctx, in, out);
    completed += out.size() - before;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    super.channelRead(ctx, msg);
    if (refused) {
      return;
    }
    int done = completed;
    completed = 0;
    // A large frame being gathered holds its bytes outside the cumulation (FrameDecoder).
    if (!meter.afterRead(internalBuffer().readableBytes() + gatheredBytes(), done)) {
      meter.release();
      refuse(Status.BUSY, meter.refusal(true));
    }
  }

  /**
   * Answers {@code reply} (a refusal of a frame already decoded: BinaryRequestHandler's, when the
   * node-wide bound refuses a frame that would wait), drops every byte held or still to come, and closes.
   */
  void refuse(Frame reply) {
    if (refused) {
      return;
    }
    refused = true;
    meter.release();
    dropGathered();
    internalBuffer().skipBytes(internalBuffer().readableBytes());
    LingeringClose.after(ctx.channel().writeAndFlush(reply));
  }

  /** Answers {@code status} for the pending frame, drops every byte held or still to come, and closes. */
  void refuse(Status status, String message) {
    if (refused) {
      return;
    }
    refused = true;
    ByteBuf held = internalBuffer();
    byte opcode = 0;
    int requestId = 0;
    Frame gathered = gatheringHead();
    if (gathered != null) {
      opcode = gathered.opcode();
      requestId = gathered.requestId();
    } else if (held.readableBytes() >= 8) {
      opcode = held.getByte(held.readerIndex() + 2);
      requestId = held.getInt(held.readerIndex() + 4);
    }
    dropGathered();
    held.skipBytes(held.readableBytes());
    Frame reply = new Frame(opcode, Flags.RESPONSE, requestId, status, Frame.NO_EXTRAS, Frame.EMPTY,
        message.getBytes(StandardCharsets.UTF_8));
    // From the channel, so the reply passes the encoder that sits after this decoder.
    // Lingering: closing with the client's bytes unread would reset the reply away (LingeringClose).
    LingeringClose.after(ctx.channel().writeAndFlush(reply));
  }
}
