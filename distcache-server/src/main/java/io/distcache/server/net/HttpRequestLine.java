package io.distcache.server.net;

import io.netty.buffer.ByteBuf;

/*
 * Design: an HTTP/1.x request line is "METHOD SP request-target SP HTTP/1.d" then CRLF (RFC 9112,
 * 3; a bare LF is tolerated as the RFC allows). The method is a token; every method in use is
 * upper-case letters, so only a connection whose first byte is 'A'..'Z' can be HTTP. The bytes are
 * read in place (no copy, no String) and the verdict comes as early as it can: a space-separated
 * Redis inline command fails at its third word or its line end, a RESP array at its first byte.
 */

/** Tells whether the first bytes of a connection are an HTTP/1.x request line. */
final class HttpRequestLine {
  private HttpRequestLine() {}

  /** Longest first line waited for; longer is not HTTP we serve (Netty's default limit is 4096). */
  static final int MAX_HTTP_REQUEST_LINE = 4096;
  /** Longest method token: "OPTIONS" and "CONNECT" are 7. */
  static final int MAX_METHOD = 16;

  static final int NOT_HTTP = 0;
  static final int HTTP = 1;
  static final int UNDECIDED = 2;

  private static final byte[] VERSION = {'H', 'T', 'T', 'P', '/', '1', '.'};

  /** Classifies the readable bytes of {@code in} without consuming them. */
  static int classify(ByteBuf in) {
    int start = in.readerIndex();
    int limit = Math.min(in.writerIndex(), start + MAX_HTTP_REQUEST_LINE);
    int i = start;
    // method: 1..MAX_METHOD upper-case letters, then one space
    while (i < limit && isUpper(in.getByte(i))) {
      i++;
    }
    int methodLength = i - start;
    if (methodLength == 0 || methodLength > MAX_METHOD) {
      return NOT_HTTP;
    }
    if (i == limit) {
      return more(start, limit);
    }
    if (in.getByte(i) != ' ') {
      return NOT_HTTP;
    }
    i++;
    // request-target: visible ASCII, at least one byte, up to the next space
    int targetStart = i;
    while (i < limit && isVisible(in.getByte(i))) {
      i++;
    }
    if (i == limit) {
      return more(start, limit);
    }
    if (i == targetStart || in.getByte(i) != ' ') {
      return NOT_HTTP;
    }
    i++;
    // "HTTP/1." and one digit
    for (byte expected : VERSION) {
      if (i == limit) {
        return more(start, limit);
      }
      if (in.getByte(i) != expected) {
        return NOT_HTTP;
      }
      i++;
    }
    if (i == limit) {
      return more(start, limit);
    }
    if (!isDigit(in.getByte(i))) {
      return NOT_HTTP;
    }
    i++;
    // CRLF or LF
    if (i == limit) {
      return more(start, limit);
    }
    byte b = in.getByte(i);
    if (b == '\n') {
      return HTTP;
    }
    if (b != '\r') {
      return NOT_HTTP;
    }
    i++;
    if (i == limit) {
      return more(start, limit);
    }
    return in.getByte(i) == '\n' ? HTTP : NOT_HTTP;
  }

  /** The bytes ran out: wait for more unless the line is already longer than we wait for. */
  private static int more(int start, int limit) {
    return limit - start >= MAX_HTTP_REQUEST_LINE ? NOT_HTTP : UNDECIDED;
  }

  private static boolean isUpper(byte b) {
    return b >= 'A' && b <= 'Z';
  }

  private static boolean isVisible(byte b) {
    return b > ' ' && b < 0x7f;
  }

  private static boolean isDigit(byte b) {
    return b >= '0' && b <= '9';
  }
}
