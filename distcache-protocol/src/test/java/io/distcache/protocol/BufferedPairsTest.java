package io.distcache.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * MSET's pair list with its large values left in buffers: the bytes are ListCodec's pair list,
 * the keys and the values read back without a heap copy of the list, every buffer given back once,
 * and a malformed list refused as ListCodec refuses it.
 */
class BufferedPairsTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] value(int length, int seed) {
    byte[] v = new byte[length];
    for (int i = 0; i < length; i++) {
      v[i] = (byte) (i * 7 + seed);
    }
    return v;
  }

  private static ByteBuf direct(byte[] v) {
    return Unpooled.directBuffer(v.length).writeBytes(v);
  }

  @Test
  void encode_mixedArraysAndBuffers_isListCodecsPairList_andSplitsBackWithoutACopy() {
    List<byte[]> keys = List.of(b("a"), b("s"), b("c"));
    byte[] big1 = value(40_000, 1);
    byte[] big2 = value(70_000, 2);
    ByteBuf buf1 = direct(big1);
    ByteBuf buf2 = direct(big2);

    BufferedValue list = BufferedPairs.encode(keys, Arrays.asList(null, b("small"), null),
        Arrays.asList(buf1, null, buf2));
    BufferedPairs.Pairs pairs = BufferedPairs.split(list);
    List<byte[]> copiedOut = new ArrayList<>();
    for (BufferedValue v : pairs.values()) {
      java.nio.ByteBuffer dst = java.nio.ByteBuffer.allocate(v.length());
      v.copyTo(dst);
      copiedOut.add(dst.array());
    }
    Frame request = Frame.request(Opcode.MULTI_SET, 0, null, Frame.EMPTY).withValue(list);

    assertThat(BufferedPairs.keys(request)).containsExactlyElementsOf(keys);
    assertThat(pairs.keys()).containsExactlyElementsOf(keys);
    assertThat(copiedOut).containsExactly(big1, b("small"), big2);
    assertThat(list.copied()).as("no heap copy of the list").isFalse();
    pairs.release();
    list.release(false);
    assertThat(buf1.refCnt()).isZero();
    assertThat(buf2.refCnt()).isZero();
    // the bytes, as a forward would encode them: ListCodec's pair list
    BufferedValue again = BufferedPairs.encode(keys, Arrays.asList(null, b("small"), null),
        Arrays.asList(direct(big1), null, direct(big2)));
    assertThat(again.array()).isEqualTo(ListCodec.encodePairs(keys, List.of(big1, b("small"), big2)));
    again.release(false);
  }

  @Test
  void keys_ofAnArrayPairList_areListCodecsKeys() {
    List<byte[]> keys = List.of(b("k1"), b("k2"));
    Frame request = Frame.request(Opcode.MULTI_SET, 0, null, ListCodec.encodePairs(keys, List.of(b("v1"), b(""))));

    assertThat(BufferedPairs.keys(request)).containsExactlyElementsOf(keys);
  }

  @Test
  void keys_andSplit_ofMalformedLists_areRefusedAsListCodecRefusesThem() {
    byte[] good = ListCodec.encodePairs(List.of(b("k")), List.of(b("value")));
    List<byte[]> malformed = List.of(
        new byte[0], // no count
        Arrays.copyOf(good, good.length - 1), // a value length beyond the bytes
        Arrays.copyOf(good, good.length + 1), // a trailing byte
        new byte[] {0x7f, 0, 0, 0}, // a count that cannot fit
        Arrays.copyOf(good, 6)); // a truncated key length
    for (byte[] m : malformed) {
      assertThatThrownBy(() -> ListCodec.decodePairs(m)).isInstanceOf(ListCodec.MalformedListException.class);
      assertThatThrownBy(() -> BufferedPairs.keys(Frame.request(Opcode.MULTI_SET, 0, null, m)))
          .isInstanceOf(ListCodec.MalformedListException.class);
      ByteBuf buf = direct(m);
      BufferedValue v = new BufferedValue(buf);
      assertThatThrownBy(() -> BufferedPairs.split(v)).isInstanceOf(ListCodec.MalformedListException.class);
      v.release(false);
      assertThat(buf.refCnt()).as("no slice left holding it").isZero();
    }
  }

  @Test
  void encode_sizesThatDisagree_releasesTheBuffersItWasGiven() {
    ByteBuf buf = direct(value(100, 3));

    assertThatThrownBy(() -> BufferedPairs.encode(List.of(b("a"), b("b")), Arrays.asList(null, b("x")),
        Arrays.asList(buf))).isInstanceOf(IllegalArgumentException.class);

    assertThat(buf.refCnt()).isZero();
  }
}
