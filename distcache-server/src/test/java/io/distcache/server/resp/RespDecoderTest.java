package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RespDecoderTest {
  /** *3 $3 SET $1 k $5 value: a three-argument array of bulk strings. */
  private static final String SET_K_VALUE = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";

  private final EmbeddedChannel channel = new EmbeddedChannel(new RespDecoder(new RespLimits(1024, 8, 64)));

  @AfterEach
  void tearDown() {
    channel.finishAndReleaseAll();
  }

  private void write(String s) {
    channel.writeInbound(Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1));
  }

  private List<Object> drain() {
    List<Object> out = new ArrayList<>();
    Object m;
    while ((m = channel.readInbound()) != null) {
      out.add(m);
    }
    return out;
  }

  private static List<String> args(Object message) {
    assertThat(message).isInstanceOf(RespCommand.class);
    return Arrays.stream(((RespCommand) message).args).map(b -> new String(b, StandardCharsets.ISO_8859_1)).toList();
  }

  private static String error(Object message) {
    assertThat(message).isInstanceOf(RespProtocolError.class);
    return ((RespProtocolError) message).message;
  }

  @Test
  void decode_wholeArray_oneCommand() {
    write(SET_K_VALUE);
    List<Object> out = drain();
    assertThat(out).hasSize(1);
    assertThat(args(out.get(0))).containsExactly("SET", "k", "value");
  }

  @Test
  void decode_oneByteAtATime_commandOnlyAfterLastByte() {
    for (int i = 0; i < SET_K_VALUE.length() - 1; i++) {
      write(SET_K_VALUE.substring(i, i + 1));
      assertThat(drain()).as("after byte %d", i).isEmpty();
    }
    write(SET_K_VALUE.substring(SET_K_VALUE.length() - 1));
    assertThat(args(drain().get(0))).containsExactly("SET", "k", "value");
  }

  @Test
  void decode_inlineOneByteAtATime_commandOnlyAfterNewline() {
    String line = "SET k \"a b\"\r\n";
    for (int i = 0; i < line.length() - 1; i++) {
      write(line.substring(i, i + 1));
      assertThat(drain()).isEmpty();
    }
    write("\n");
    assertThat(args(drain().get(0))).containsExactly("SET", "k", "a b");
  }

  @Test
  void decode_batchInOneBuffer_everyCommandInOrder() {
    write("*1\r\n$4\r\nPING\r\n" + SET_K_VALUE + "GET k\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n");
    List<Object> out = drain();
    assertThat(out).hasSize(4);
    assertThat(args(out.get(0))).containsExactly("PING");
    assertThat(args(out.get(1))).containsExactly("SET", "k", "value");
    assertThat(args(out.get(2))).containsExactly("GET", "k");
    assertThat(args(out.get(3))).containsExactly("GET", "");
  }

  @Test
  void decode_binaryBulk_keepsCrLfAndNulBytes() {
    ByteBuf in = Unpooled.buffer();
    in.writeCharSequence("*2\r\n$3\r\nGET\r\n$4\r\n", StandardCharsets.US_ASCII);
    in.writeBytes(new byte[] {0, '\r', '\n', (byte) 0xFF});
    in.writeCharSequence("\r\n", StandardCharsets.US_ASCII);
    channel.writeInbound(in);
    RespCommand c = (RespCommand) drain().get(0);
    assertThat(c.args[1]).containsExactly(0, '\r', '\n', 0xFF);
  }

  @Test
  void decode_inlineWithBareNewline_accepted() {
    write("PING\nECHO hi\n");
    List<Object> out = drain();
    assertThat(args(out.get(0))).containsExactly("PING");
    assertThat(args(out.get(1))).containsExactly("ECHO", "hi");
  }

  @Test
  void decode_emptyArrayAndBlankLine_ignored() {
    write("*0\r\n*-1\r\n\r\n   \r\nPING\r\n");
    List<Object> out = drain();
    assertThat(out).hasSize(1);
    assertThat(args(out.get(0))).containsExactly("PING");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "*x\\r\\n|Protocol error: invalid multibulk length",
      "*01\\r\\n|Protocol error: invalid multibulk length",
      "*+1\\r\\n|Protocol error: invalid multibulk length",
      "*1\\r\\nx3\\r\\n|Protocol error: expected '$', got 'x'",
      "*1\\r\\n$x\\r\\n|Protocol error: invalid bulk length",
      "*1\\r\\n$-1\\r\\n|Protocol error: invalid bulk length",
      "SET k \"abc\\r\\n|Protocol error: unbalanced quotes in request",
  })
  void decode_malformed_redisProtocolError(String input, String expected) {
    write(input.replace("\\r", "\r").replace("\\n", "\n"));
    List<Object> out = drain();
    assertThat(out).hasSize(1);
    assertThat(error(out.get(0))).isEqualTo(expected);
  }

  @Test
  void decode_commandsBeforeError_emittedFirstAndNothingAfter() {
    write("PING\r\n*1\r\n!\r\nPING\r\n");
    List<Object> out = drain();
    assertThat(out).hasSize(2);
    assertThat(args(out.get(0))).containsExactly("PING");
    assertThat(error(out.get(1))).isEqualTo("Protocol error: expected '$', got '!'");
    write("PING\r\n");
    assertThat(drain()).isEmpty();
  }

  @Test
  void decode_bulkLongerThanLimit_errorBeforeTheDataArrives() {
    write("*2\r\n$3\r\nGET\r\n$1025\r\n");
    assertThat(error(drain().get(0))).isEqualTo("Protocol error: invalid bulk length");
  }

  @Test
  void decode_hugeBulkLength_errorWithoutWaitingOrAllocating() {
    write("*1\r\n$99999999999999999999999\r\n");
    assertThat(error(drain().get(0))).isEqualTo("Protocol error: invalid bulk length");
    write("*1\r\n$9223372036854775807\r\n");
    assertThat(drain()).isEmpty(); // already failed: discarded
  }

  @Test
  void decode_arrayLongerThanLimit_error() {
    write("*9\r\n");
    assertThat(error(drain().get(0))).isEqualTo("Protocol error: invalid multibulk length");
  }

  @Test
  void decode_bulkAtLimit_accepted() {
    String value = "v".repeat(1024);
    write("*1\r\n$1024\r\n" + value + "\r\n");
    assertThat(args(drain().get(0))).containsExactly(value);
  }

  @Test
  void decode_inlineLongerThanLimit_tooBigInlineRequest() {
    write("x".repeat(65));
    assertThat(error(drain().get(0))).isEqualTo("Protocol error: too big inline request");
  }

  @Test
  void decode_lengthLineWithoutEnd_tooBigCountString() {
    write("*" + "1".repeat(70));
    assertThat(error(drain().get(0))).isEqualTo("Protocol error: too big mbulk count string");
  }

  @Test
  void decode_bulkLengthLineWithoutEnd_tooBigBulkCountString() {
    write("*1\r\n$" + "1".repeat(70));
    assertThat(error(drain().get(0))).isEqualTo("Protocol error: too big bulk count string");
  }

  @Test
  void decode_largeBulkInChunks_assembledOnce() {
    EmbeddedChannel big = new EmbeddedChannel(new RespDecoder(RespLimits.forMaxValueBytes(2 * 1024 * 1024)));
    byte[] value = new byte[1024 * 1024];
    Arrays.fill(value, (byte) 'z');
    ByteBuf all = Unpooled.buffer();
    all.writeCharSequence("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + value.length + "\r\n", StandardCharsets.US_ASCII);
    all.writeBytes(value).writeCharSequence("\r\n", StandardCharsets.US_ASCII);
    while (all.isReadable()) {
      big.writeInbound(all.readRetainedSlice(Math.min(60_000, all.readableBytes())));
    }
    all.release();
    RespCommand c = big.readInbound();
    assertThat(c.args[2]).as("a large bulk stays in its buffer").isNull();
    c.materialize();
    assertThat(c.args[2]).isEqualTo(value);
    assertThat((Object) big.readInbound()).isNull();
    assertThat(big.finish()).isFalse();
  }

  /** *3 $3 SET $1000 <1000 x> then only the header of a third 1000-byte bulk: 2031 bytes claimed. */
  private static final String TWO_BULKS_AND_A_HEADER =
      "*3\r\n$3\r\nSET\r\n$1000\r\n" + "x".repeat(1000) + "\r\n$1000\r\n";

  @Test
  void decode_bulkHeaderCrossingRequestLimit_tooBigRequestBeforeItsData() {
    EmbeddedChannel small = new EmbeddedChannel(new RespDecoder(new RespLimits(1024, 8, 64, 2030)));
    small.writeInbound(Unpooled.copiedBuffer(TWO_BULKS_AND_A_HEADER, StandardCharsets.ISO_8859_1));
    assertThat(error(small.readInbound()))
        .isEqualTo("Protocol error: too big request: at least 2031 bytes, the limit is 2030");
    small.writeInbound(Unpooled.copiedBuffer("y".repeat(1000) + "\r\n", StandardCharsets.ISO_8859_1));
    assertThat((Object) small.readInbound()).isNull();
    assertThat(small.finish()).isFalse();
  }

  @Test
  void decode_requestsEachAtRequestLimit_allDecoded() {
    EmbeddedChannel exact = new EmbeddedChannel(new RespDecoder(new RespLimits(1024, 8, 64, 2031)));
    String request = TWO_BULKS_AND_A_HEADER + "y".repeat(1000) + "\r\n";
    exact.writeInbound(Unpooled.copiedBuffer(request + request, StandardCharsets.ISO_8859_1));
    for (int i = 0; i < 2; i++) {
      RespCommand c = exact.readInbound();
      assertThat(c.args.length).isEqualTo(3);
      assertThat(c.args[2]).hasSize(1000);
    }
    assertThat(exact.finish()).isFalse();
  }

  private static ByteBuf request(byte[]... args) {
    ByteBuf buf = Unpooled.buffer();
    buf.writeCharSequence("*" + args.length + "\r\n", StandardCharsets.US_ASCII);
    for (byte[] a : args) {
      buf.writeCharSequence("$" + a.length + "\r\n", StandardCharsets.US_ASCII);
      buf.writeBytes(a).writeCharSequence("\r\n", StandardCharsets.US_ASCII);
    }
    return buf;
  }

  /** Which arguments of each request came as buffers (by index), the others being arrays. */
  private static List<List<Integer>> bufferedIndexes(EmbeddedChannel ch) {
    List<List<Integer>> out = new ArrayList<>();
    RespCommand c;
    while ((c = ch.readInbound()) != null) {
      List<Integer> at = new ArrayList<>();
      for (int i = 0; i < c.args.length; i++) {
        if (c.peek(i) != null) {
          assertThat(c.args[i]).isNull();
          at.add(i);
        } else {
          assertThat(c.args[i]).as("argument %d", i).isNotNull();
        }
      }
      c.release();
      out.add(at);
    }
    return out;
  }

  @Test
  void decode_setFamilyValuesFromTheSliceThreshold_areBuffers_everyOtherArgumentAnArray() {
    EmbeddedChannel ch = new EmbeddedChannel(new RespDecoder(RespLimits.forMaxValueBytes(1 << 20)));
    byte[] at = "v".repeat(RespDecoder.SLICE_BULK_BYTES).getBytes(StandardCharsets.US_ASCII);
    byte[] below = Arrays.copyOf(at, at.length - 1);
    byte[] k = {'k'};
    ByteBuf all = Unpooled.buffer();
    for (ByteBuf r : List.of(request("SET".getBytes(), k, at), request("set".getBytes(), k, below),
        request("SetEx".getBytes(), k, "10".getBytes(), at), request("PSETEX".getBytes(), at, "10".getBytes(), at),
        request("GETSET".getBytes(), k, at), request("APPEND".getBytes(), k, at),
        request("MSET".getBytes(), at, at, k, below, k, at), request("MSETNX".getBytes(), at, at),
        request("HSET".getBytes(), k, at, at), request("ECHO".getBytes(), at), request("SET".getBytes(), at, k),
        request(at, k, at))) {
      all.writeBytes(r);
      r.release();
    }

    ch.writeInbound(all);

    assertThat(bufferedIndexes(ch)).containsExactly(List.of(2), List.of(), List.of(3), List.of(3), List.of(2),
        List.of(2), List.of(2, 6), List.of(2), List.of(), List.of(), List.of(), List.of());
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void decode_requestIncompleteAtTheEndOfARead_copiesItsSlicesOut_andTheReadBufferIsReleased() {
    EmbeddedChannel ch = new EmbeddedChannel(new RespDecoder(RespLimits.forMaxValueBytes(1 << 20)));
    byte[] v = new byte[2000];
    Arrays.fill(v, (byte) '\r');
    ByteBuf whole = request("MSET".getBytes(), "a".getBytes(), v, "b".getBytes(), v);
    int firstPart = whole.readableBytes() - (v.length + 2) - 7; // up to the second value's header: "$2000\r\n"
    ByteBuf first = Unpooled.directBuffer(firstPart).writeBytes(whole, firstPart);

    ch.writeInbound(first);

    assertThat(first.refCnt()).as("the first value no longer holds the read buffer").isZero();
    ch.writeInbound(whole);
    RespCommand c = ch.readInbound();
    assertThat(c.peek(2)).isNotNull();
    assertThat(c.peek(4)).isNotNull();
    c.materialize();
    assertThat(c.args[2]).isEqualTo(v);
    assertThat(c.args[4]).isEqualTo(v);
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void decode_anMsetWithASlicedValueEarly_andMoreArgumentsThanItsBufferTable_splitAcrossReads_decodesWhole() {
    EmbeddedChannel ch = new EmbeddedChannel(new RespDecoder(RespLimits.forMaxValueBytes(1 << 20)));
    byte[] big = new byte[1024];
    Arrays.fill(big, (byte) 'v');
    java.util.List<byte[]> parts = new java.util.ArrayList<>(List.of("MSET".getBytes(), "k0".getBytes(), big));
    for (int i = 1; i < 10; i++) {
      parts.add(("k" + i).getBytes());
      parts.add("x".getBytes());
    }
    ByteBuf whole = request(parts.toArray(new byte[0][]));
    int firstPart = whole.readableBytes() - 10; // the last value's header and bytes still to come
    ByteBuf first = Unpooled.directBuffer(firstPart).writeBytes(whole, firstPart);

    ch.writeInbound(first);
    ch.writeInbound(whole);

    RespCommand c = ch.readInbound();
    assertThat(c).as("the request, not a decoder failure").isNotNull();
    c.materialize();
    assertThat(c.args.length).isEqualTo(21);
    assertThat(c.args[2]).isEqualTo(big);
    assertThat(c.args[20]).isEqualTo("x".getBytes());
    assertThat(first.refCnt()).isZero();
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void decode_aLargeValueThatArrivedWhole_inARequestIncompleteAtTheEndOfARead_doesNotPinTheReadBuffer() {
    EmbeddedChannel ch = new EmbeddedChannel(new RespDecoder(RespLimits.forMaxValueBytes(1 << 20)));
    byte[] v = new byte[40_000];
    Arrays.fill(v, (byte) 'w');
    ByteBuf whole = request("MSET".getBytes(), "a".getBytes(), v, "b".getBytes(), "y".getBytes());
    int firstPart = whole.readableBytes() - 14; // the last two arguments, "b" and "y", still to come
    ByteBuf first = Unpooled.directBuffer(firstPart).writeBytes(whole, firstPart);

    ch.writeInbound(first);

    assertThat(first.refCnt()).as("a 40,000-byte slice no longer holds the read buffer").isZero();
    ch.writeInbound(whole);
    RespCommand c = ch.readInbound();
    c.materialize();
    assertThat(c.args[2]).isEqualTo(v);
    assertThat(ch.finish()).isFalse();
  }
}
