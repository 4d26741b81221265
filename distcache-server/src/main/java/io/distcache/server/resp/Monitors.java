package io.distcache.server.resp;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CopyOnWriteArrayList;

/*
 * Design: MONITOR streams every command the node executes to the monitoring connections, in
 * Redis's format: +<unix seconds>.<micros> [0 <client addr>] "arg" "arg"... When nobody monitors,
 * a command pays one volatile read (the copy-on-write list's array). When someone does, each
 * command is formatted once and written to each monitor from the executing thread (Netty queues it
 * on the monitor's event loop); a monitor whose unsent output is past the write-buffer high mark
 * (it does not read) is disconnected, as Redis disconnects a monitor over its output-buffer limit,
 * so a stalled monitor cannot make the node buffer without bound. At most MAX_MONITORS at once.
 */

/** The connections in MONITOR mode, and the feed to them. */
final class Monitors {
  static final int MAX_MONITORS = 64;

  private final CopyOnWriteArrayList<ClientState> monitors = new CopyOnWriteArrayList<>();

  boolean active() {
    return !monitors.isEmpty();
  }

  /** Adds a monitor; false when MAX_MONITORS are already monitoring. */
  synchronized boolean add(ClientState client) {
    if (monitors.size() >= MAX_MONITORS) {
      return false;
    }
    if (!monitors.contains(client)) {
      monitors.add(client);
      client.channel.closeFuture().addListener(f -> monitors.remove(client));
    }
    return true;
  }

  void remove(ClientState client) {
    monitors.remove(client);
  }

  /** Sends one executed command to every monitor but its own connection. */
  void feed(RespSession s, byte[][] args) {
    byte[] line = null;
    for (ClientState m : monitors) {
      if (m == s.client()) {
        continue;
      }
      Channel ch = m.channel;
      if (!ch.isWritable()) {
        monitors.remove(m);
        ch.close();
        continue;
      }
      if (line == null) {
        line = format(s.context().clock().micros(), s.client().address, args);
      }
      ch.writeAndFlush(Unpooled.wrappedBuffer(line), ch.voidPromise());
    }
  }

  /**
   * The most of one argument a MONITOR line shows; the rest is counted, not shown. Redis shows it
   * all, at up to 4 bytes per byte: a 32 MiB MSET made a 128 MiB line per monitor and froze the
   * node for 24 s (a tester).
   */
  static final int MAX_SHOWN_ARGUMENT = 64 * 1024;

  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  static byte[] format(long micros, String address, byte[][] args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(64);
    String head = "+" + (micros / 1_000_000) + "." + String.format("%06d", micros % 1_000_000) + " [0 " + address + "]";
    out.writeBytes(head.getBytes(StandardCharsets.US_ASCII));
    for (byte[] a : args) {
      out.write(' ');
      quote(out, a);
    }
    out.write('\r');
    out.write('\n');
    return out.toByteArray();
  }

  /** Redis's sdscatrepr: quoted, with escapes for quotes, backslashes, controls and non-ASCII. */
  static void quote(ByteArrayOutputStream out, byte[] a) {
    out.write('"');
    int shown = Math.min(a.length, MAX_SHOWN_ARGUMENT);
    for (int i = 0; i < shown; i++) {
      int c = a[i] & 0xff;
      switch (c) {
        case '\\' -> out.writeBytes(new byte[] {'\\', '\\'});
        case '"' -> out.writeBytes(new byte[] {'\\', '"'});
        case '\n' -> out.writeBytes(new byte[] {'\\', 'n'});
        case '\r' -> out.writeBytes(new byte[] {'\\', 'r'});
        case '\t' -> out.writeBytes(new byte[] {'\\', 't'});
        case 7 -> out.writeBytes(new byte[] {'\\', 'a'});
        case '\b' -> out.writeBytes(new byte[] {'\\', 'b'});
        default -> {
          if (c >= 0x20 && c < 0x7f) {
            out.write(c);
          } else {
            out.write('\\');
            out.write('x');
            out.write(HEX[c >>> 4]);
            out.write(HEX[c & 0xf]);
          }
        }
      }
    }
    out.write('"');
    if (shown < a.length) {
      out.writeBytes(("...(" + (a.length - shown) + " more bytes)").getBytes(StandardCharsets.US_ASCII));
    }
  }
}
