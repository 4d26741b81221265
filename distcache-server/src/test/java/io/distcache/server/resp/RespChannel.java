package io.distcache.server.resp;

import io.distcache.server.Clock;
import io.distcache.server.cluster.Router;
import io.distcache.server.store.Store;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;

/** An EmbeddedChannel speaking RESP to a session, with helpers that send commands and read raw replies. */
final class RespChannel implements AutoCloseable {
  final EmbeddedChannel channel = new EmbeddedChannel();
  final RespContext context;

  RespChannel(Router router, Store store, Clock clock) {
    this(RespContext.builder(router, store).clock(clock).version("test").build());
  }

  RespChannel(RespContext context) {
    this.context = context;
    RespPipeline.install(channel.pipeline(), context);
  }

  /** Encodes each command (arguments separated by single spaces) as a RESP array. */
  static String encode(String... commands) {
    StringBuilder sb = new StringBuilder();
    for (String c : commands) {
      String[] parts = c.split(" ", -1);
      sb.append('*').append(parts.length).append("\r\n");
      for (String p : parts) {
        sb.append('$').append(p.getBytes(StandardCharsets.ISO_8859_1).length).append("\r\n").append(p).append("\r\n");
      }
    }
    return sb.toString();
  }

  /** A RESP2 array of bulk strings, as a reply reads. */
  static String bulks(String... items) {
    StringBuilder sb = new StringBuilder("*").append(items.length).append("\r\n");
    for (String i : items) {
      sb.append('$').append(i.length()).append("\r\n").append(i).append("\r\n");
    }
    return sb.toString();
  }

  /** Sends the commands in one buffer (one read burst) and returns every byte written back. */
  String send(String... commands) {
    return raw(encode(commands));
  }

  /** Sends one command given as separate arguments (which may contain spaces or be empty). */
  String call(byte[]... args) {
    ByteBuf b = Unpooled.buffer();
    b.writeCharSequence("*" + args.length + "\r\n", StandardCharsets.US_ASCII);
    for (byte[] a : args) {
      b.writeCharSequence("$" + a.length + "\r\n", StandardCharsets.US_ASCII);
      b.writeBytes(a).writeCharSequence("\r\n", StandardCharsets.US_ASCII);
    }
    channel.writeInbound(b);
    return output();
  }

  String raw(String bytes) {
    channel.writeInbound(Unpooled.copiedBuffer(bytes, StandardCharsets.ISO_8859_1));
    return output();
  }

  /** Runs pending event-loop tasks and returns what was written since the last call. */
  String output() {
    channel.runPendingTasks();
    StringBuilder sb = new StringBuilder();
    ByteBuf b;
    while ((b = channel.readOutbound()) != null) {
      sb.append(b.toString(StandardCharsets.ISO_8859_1));
      b.release();
    }
    return sb.toString();
  }

  @Override
  public void close() {
    channel.finishAndReleaseAll();
  }
}
