package io.distcache.server.net;

import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameDecoder;
import io.distcache.protocol.FrameEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A blocking socket client for network tests: sends exact bytes, decodes replies with the real
 * frame decoder. Every read is bounded by a socket timeout, so a missing reply fails the test
 * instead of hanging it.
 */
public final class RawClient implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final EmbeddedChannel decoder = new EmbeddedChannel(new FrameDecoder());

  public RawClient(int port) {
    try {
      socket = new Socket();
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      socket.setSoTimeout(5_000);
      in = socket.getInputStream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** All frames in one write, as a pipelining client sends them. */
  public RawClient send(Frame... frames) {
    ByteBuf buf = Unpooled.buffer();
    for (Frame f : frames) {
      FrameEncoder.write(f, buf);
    }
    byte[] bytes = new byte[buf.readableBytes()];
    buf.readBytes(bytes);
    buf.release();
    return sendBytes(bytes);
  }

  public RawClient sendBytes(byte[] bytes) {
    try {
      socket.getOutputStream().write(bytes);
      socket.getOutputStream().flush();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Shuts down the sending side (a half-close, as `nc -N` does after its input); reading goes on. */
  public RawClient shutdownOutput() {
    try {
      socket.shutdownOutput();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The next reply frame. */
  public Frame read() {
    byte[] chunk = new byte[8192];
    while (true) {
      Frame f = decoder.readInbound();
      if (f != null) {
        return f;
      }
      try {
        int n = in.read(chunk);
        if (n < 0) {
          throw new IllegalStateException("connection closed by the server before a reply");
        }
        decoder.writeInbound(Unpooled.wrappedBuffer(chunk, 0, n).copy());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** Everything the server sends until it closes the connection. */
  public String readUntilClosed() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] chunk = new byte[1024];
    try {
      int n;
      while ((n = in.read(chunk)) >= 0) {
        out.write(chunk, 0, n);
      }
    } catch (SocketTimeoutException e) {
      throw new IllegalStateException("the server did not close the connection; got so far: " + out, e);
    } catch (IOException e) {
      // A reset after the server closed counts as closed.
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() {
    decoder.finishAndReleaseAll();
    try {
      socket.close();
    } catch (IOException e) {
      // closing a test socket: nothing to do
    }
  }
}
