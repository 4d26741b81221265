package io.distcache.server.resp;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/*
 * Design: replies are written straight into the connection's pooled output buffer, digits and all,
 * so a pipelined burst of GETs costs no intermediate objects. One writer per connection; the handler
 * points it at the buffer the current reply belongs to (the burst buffer, or a parked reply's own
 * buffer while an earlier reply is still being computed elsewhere). The protocol version decides how
 * nulls, maps, sets, doubles and booleans look: RESP2 folds them into bulk strings, flat arrays and
 * integers the way Redis does.
 *
 * A bulk of PIECE_BYTES or more is not copied into one buffer of its size: when the session allows
 * (Rollover: the target is the connection's burst buffer, whose earlier contents can go out now),
 * the target is handed to the channel and the value continues in fresh buffers of at most
 * PIECE_BYTES. Netty pools buffers up to 1 MiB only, so a 1 MiB value copied whole took a fresh
 * zero-filled 2 MiB allocation per reply (issue 16); in pieces every buffer is a pooled one.
 */

/** Writes RESP2 or RESP3 replies. */
final class RespWriter {
  private static final byte[] CRLF = {'\r', '\n'};
  private static final byte[] NULL2 = "$-1\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] NULL3 = "_\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] TRUE3 = "#t\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] FALSE3 = "#f\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] OK = "+OK\r\n".getBytes(StandardCharsets.US_ASCII);

  /** Bulks of at least this many bytes go out in buffers of at most this size (see above). */
  static final int PIECE_BYTES = 256 * 1024;

  /** Lets a large bulk continue in a fresh buffer (see the design note). */
  @FunctionalInterface
  interface Rollover {
    /**
     * Hands the current target to the channel (it is written before anything after it) and makes a
     * fresh one of {@code bytes} the target; null when the target must stay (it is not the burst).
     */
    ByteBuf next(int bytes);
  }

  private final byte[] digits = new byte[20];
  private ByteBuf out;
  private Rollover rollover;
  private int protocol = 2;
  /** Error replies written, for the command that wrote them (failed_calls); see errors(). */
  private long errors;
  /** Where error replies are counted by code; null: nowhere. */
  private ErrorStats errorStats;

  void target(ByteBuf out) {
    this.out = out;
  }

  void rollover(Rollover rollover) {
    this.rollover = rollover;
  }

  ByteBuf target() {
    return out;
  }

  int protocol() {
    return protocol;
  }

  void protocol(int version) {
    this.protocol = version;
  }

  boolean resp3() {
    return protocol == 3;
  }

  void ok() {
    out.writeBytes(OK);
  }

  void simple(String s) {
    out.writeByte('+');
    writeLine(s);
  }

  /** Error replies written so far: a command failed when this grew while it replied. */
  long errors() {
    return errors;
  }

  void errorStats(ErrorStats stats) {
    this.errorStats = stats;
  }

  /** An error reply; the text starts with its code ("ERR ...", "OOM ..."). Line breaks become spaces. */
  void error(String s) {
    errors++;
    if (errorStats != null) {
      errorStats.count(s);
    }
    out.writeByte('-');
    writeLine(s);
  }

  void integer(long n) {
    out.writeByte(':');
    writeDigits(n);
    out.writeBytes(CRLF);
  }

  void bulk(byte[] b) {
    header('$', b.length);
    if (b.length < PIECE_BYTES || rollover == null) {
      out.writeBytes(b);
    } else {
      pieces(java.nio.ByteBuffer.wrap(b));
    }
    out.writeBytes(CRLF);
  }

  /** A bulk string of {@code value}'s bytes from its position to its limit (consumed). */
  void bulk(java.nio.ByteBuffer value) {
    int length = value.remaining();
    header('$', length);
    if (length < PIECE_BYTES || rollover == null) {
      out.writeBytes(value);
    } else {
      pieces(value);
    }
    out.writeBytes(CRLF);
  }

  /** A bulk string of {@code value}'s readable bytes (left unread; a composite's pieces one by one). */
  void bulk(ByteBuf value) {
    int length = value.readableBytes();
    header('$', length);
    if (length < PIECE_BYTES || rollover == null) {
      out.writeBytes(value, value.readerIndex(), length);
    } else {
      for (java.nio.ByteBuffer piece : value.nioBuffers()) {
        pieces(piece);
      }
    }
    out.writeBytes(CRLF);
  }

  /**
   * The start of a bulk string of {@code length} bytes that the caller writes itself (a value handed
   * to the channel as its own buffer), to be ended by {@link #crlf}.
   */
  void bulkHeader(int length) {
    header('$', length);
  }

  /** The end of a bulk string begun with {@link #bulkHeader}. */
  void crlf() {
    out.writeBytes(CRLF);
  }

  /** A large bulk's bytes, in buffers of at most PIECE_BYTES where the session allows (design note). */
  private void pieces(java.nio.ByteBuffer value) {
    int end = value.limit();
    while (value.position() < end) {
      int n = Math.min(PIECE_BYTES, end - value.position());
      if (out.writableBytes() < n) {
        ByteBuf next = rollover.next(n + CRLF.length);
        if (next != null) {
          out = next;
        }
      }
      value.limit(value.position() + n);
      out.writeBytes(value);
      value.limit(end);
    }
  }

  void bulk(String s) {
    bulk(s.getBytes(StandardCharsets.UTF_8));
  }

  /** A bulk string, or null when {@code b} is null. */
  void bulkOrNull(byte[] b) {
    if (b == null) {
      nil();
    } else {
      bulk(b);
    }
  }

  void nil() {
    out.writeBytes(resp3() ? NULL3 : NULL2);
  }

  /** A null array (RESP2 {@code *-1}, RESP3 null): EXEC whose watched keys changed. */
  void nullArray() {
    if (resp3()) {
      out.writeBytes(NULL3);
    } else {
      header('*', -1);
    }
  }

  /** A reply already rendered, copied as it is. */
  void raw(ByteBuf rendered) {
    out.writeBytes(rendered, rendered.readerIndex(), rendered.readableBytes());
  }

  void array(int n) {
    header('*', n);
  }

  /** A push of {@code n} elements: pub/sub messages and confirmations (RESP2: an array). */
  void push(int n) {
    header(resp3() ? '>' : '*', n);
  }

  /** A map of {@code n} pairs (RESP2: a flat array of 2n elements). */
  void map(int n) {
    if (resp3()) {
      header('%', n);
    } else {
      header('*', 2L * n);
    }
  }

  /** A set (RESP2: an array). */
  void set(int n) {
    header(resp3() ? '~' : '*', n);
  }

  /** A double, as Redis formats scores (RESP2: a bulk string, as Redis sends scores). */
  void dbl(double d) {
    String text = io.distcache.server.store.RedisNumbers.formatDouble(d);
    if (resp3()) {
      out.writeByte(',');
      writeLine(text);
    } else {
      bulk(text);
    }
  }

  /** A boolean (RESP2: the integer 1 or 0). */
  void bool(boolean b) {
    if (resp3()) {
      out.writeBytes(b ? TRUE3 : FALSE3);
    } else {
      integer(b ? 1 : 0);
    }
  }

  /** Human-readable text (INFO, CLIENT LIST): a RESP3 verbatim string, else a bulk string. */
  void verbatim(String text) {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    if (!resp3()) {
      bulk(b);
      return;
    }
    out.writeByte('=');
    writeDigits(b.length + 4L);
    out.writeBytes(CRLF);
    out.writeBytes("txt:".getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(b);
    out.writeBytes(CRLF);
  }

  /** A one-line reply of {@code type}, e.g. a RESP3 big number ('('), from a script. */
  void rawLine(char type, String text) {
    out.writeByte(type);
    writeLine(text);
  }

  private void header(char type, long n) {
    out.writeByte(type);
    writeDigits(n);
    out.writeBytes(CRLF);
  }

  private void writeLine(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\r' || c == '\n') {
        out.writeByte(' ');
      } else {
        // Texts that quote client bytes are built as ISO-8859-1, so each char is one raw byte.
        out.writeByte(c <= 0xFF ? c : '?');
      }
    }
    out.writeBytes(CRLF);
  }

  private void writeDigits(long n) {
    if (n >= 0 && n < 10) {
      out.writeByte('0' + (int) n);
      return;
    }
    if (n == Long.MIN_VALUE) {
      out.writeBytes("-9223372036854775808".getBytes(StandardCharsets.US_ASCII));
      return;
    }
    if (n < 0) {
      out.writeByte('-');
      n = -n;
    }
    int i = digits.length;
    while (n > 0) {
      digits[--i] = (byte) ('0' + (n % 10));
      n /= 10;
    }
    out.writeBytes(digits, i, digits.length - i);
  }
}
