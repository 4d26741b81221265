package io.distcache.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HttpRequestLineTest {

  private static int classify(String s) {
    ByteBuf b = Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    try {
      int before = b.readerIndex();
      int verdict = HttpRequestLine.classify(b);
      assertThat(b.readerIndex()).isEqualTo(before);
      return verdict;
    } finally {
      b.release();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"GET /metrics HTTP/1.1\r\n", "HEAD / HTTP/1.0\r\n", "GET /healthz HTTP/1.1\n",
      "POST /x HTTP/1.1\r\nHost: a\r\n\r\n", "DELETE /readyz?x=1 HTTP/1.1\r\n"})
  void classify_requestLine_isHttp(String line) {
    assertThat(classify(line)).isEqualTo(HttpRequestLine.HTTP);
  }

  @ParameterizedTest
  @ValueSource(strings = {"GET / HTTP/9.9\r\n", "GET /metrics HTTP/2.0\r\n", "PRI * HTTP/2.0\r\n"})
  void classify_requestLineOfAnotherVersion_isHttp(String line) {
    // The HTTP side answers 505: an HTTP client gets an HTTP status, not a Redis error.
    assertThat(classify(line)).isEqualTo(HttpRequestLine.HTTP);
  }

  @ParameterizedTest
  @ValueSource(strings = {"GET foo\r\n", "SET k v\r\n", "PING\r\n", "GET /metrics HTTP/2\r\n", "GET  / HTTP/1.1\r\n",
      "GET / HTTP/1.1 x\r\n", "get / HTTP/1.1\r\n", "*1\r\n$4\r\nPING\r\n", "GET / HTTP/1.1\rX"})
  void classify_redisCommand_isNotHttp(String line) {
    assertThat(classify(line)).isEqualTo(HttpRequestLine.NOT_HTTP);
  }

  @ParameterizedTest
  @ValueSource(strings = {"G", "GET", "GET ", "GET /met", "GET /metrics HTTP/1", "GET /metrics HTTP/1.1", "GET /m HTTP/1.1\r"})
  void classify_prefixOfARequestLine_waitsForMore(String prefix) {
    assertThat(classify(prefix)).isEqualTo(HttpRequestLine.UNDECIDED);
  }

  @Test
  void classify_lineLongerThanTheLimit_httpWhenAMethodAndASlashTargetBeganIt() {
    String longTarget = "GET /" + "a".repeat(HttpRequestLine.MAX_HTTP_REQUEST_LINE);
    assertThat(classify(longTarget)).isEqualTo(HttpRequestLine.HTTP);
    assertThat(classify(longTarget + " HTTP/1.1\r\n")).isEqualTo(HttpRequestLine.HTTP);
    // Redis's inline commands (up to 64 KiB) stay Redis's: not a method, or not a '/' target.
    assertThat(classify("SET /" + "a".repeat(HttpRequestLine.MAX_HTTP_REQUEST_LINE))).isEqualTo(HttpRequestLine.NOT_HTTP);
    assertThat(classify("GET k" + "a".repeat(HttpRequestLine.MAX_HTTP_REQUEST_LINE))).isEqualTo(HttpRequestLine.NOT_HTTP);
    assertThat(classify("GETX /" + "a".repeat(HttpRequestLine.MAX_HTTP_REQUEST_LINE))).isEqualTo(HttpRequestLine.NOT_HTTP);
  }

  @Test
  void classify_methodLongerThanAnyHttpMethod_isNotHttp() {
    assertThat(classify("ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\n")).isEqualTo(HttpRequestLine.NOT_HTTP);
  }
}
