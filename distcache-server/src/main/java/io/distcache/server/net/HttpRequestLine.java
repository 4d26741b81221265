package io.distcache.server.net;

import io.netty.buffer.ByteBuf;

/*
 * Design: an HTTP request line is "METHOD SP request-target SP HTTP/d.d" then CRLF (RFC 9112, 3; a
 * bare LF is tolerated as the RFC allows). The method is a token; every method in use is
 * upper-case letters, so only a connection whose first byte is 'A'..'Z' can be HTTP. The bytes are
 * read in place (no copy, no String) and the verdict comes as early as it can: a space-separated
 * Redis inline command fails at its third word or its line end, a RESP array at its first byte.
 *
 * Any version of that shape is HTTP (the HTTP side answers 505 to one other than 1.x), so
 * "GET / HTTP/9.9" gets an HTTP status rather than a Redis error. A line longer than we wait for
 * is HTTP when it began like one no Redis client sends: an HTTP method, a space and a target
 * starting with '/' (the HTTP side then answers 414). Anything else that long is Redis's, whose
 * inline limit is 64 KiB.
 */

/** Tells whether the first bytes of a connection are an HTTP request line. */
final class HttpRequestLine {
  private HttpRequestLine() {}

  /** Longest first line waited for; longer is not HTTP we serve (Netty's default limit is 4096). */
  static final int MAX_HTTP_REQUEST_LINE = 4096;
  /** Longest method token: "OPTIONS" and "CONNECT" are 7. */
  static final int MAX_METHOD = 16;

  static final int NOT_HTTP = 0;
  static final int HTTP = 1;
  static final int UNDECIDED = 2;

  private static final byte[] VERSION = {'H', 'T', 'T', 'P', '/'};

  /** RFC 9110's methods: a line starting with one of these and a '/' target is HTTP at any length. */
  private static final String[] METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};

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
      return more(start, limit, false);
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
    boolean shaped = i > targetStart && in.getByte(targetStart) == '/' && isMethod(in, start, methodLength);
    if (i == limit) {
      return more(start, limit, shaped);
    }
    if (i == targetStart || in.getByte(i) != ' ') {
      return NOT_HTTP;
    }
    i++;
    // "HTTP/", a digit, '.', a digit
    for (byte expected : VERSION) {
      if (i == limit) {
        return more(start, limit, shaped);
      }
      if (in.getByte(i) != expected) {
        return NOT_HTTP;
      }
      i++;
    }
    for (int part = 0; part < 3; part++) {
      if (i == limit) {
        return more(start, limit, shaped);
      }
      byte b = in.getByte(i);
      if (part == 1 ? b != '.' : !isDigit(b)) {
        return NOT_HTTP;
      }
      i++;
    }
    // CRLF or LF
    if (i == limit) {
      return more(start, limit, shaped);
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
      return more(start, limit, shaped);
    }
    return in.getByte(i) == '\n' ? HTTP : NOT_HTTP;
  }

  /**
   * The bytes ran out: wait for more unless the line is already longer than we wait for; then it
   * is HTTP only when {@code shaped} (an HTTP method and a '/' target so far).
   */
  private static int more(int start, int limit, boolean shaped) {
    if (limit - start < MAX_HTTP_REQUEST_LINE) {
      return UNDECIDED;
    }
    return shaped ? HTTP : NOT_HTTP;
  }

  private static boolean isMethod(ByteBuf in, int start, int length) {
    for (String m : METHODS) {
      if (m.length() == length) {
        boolean same = true;
        for (int k = 0; k < length && same; k++) {
          same = in.getByte(start + k) == m.charAt(k);
        }
        if (same) {
          return true;
        }
      }
    }
    return false;
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
