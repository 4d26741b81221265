package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * BITOP folded one source at a time (BitOps.fold, so a BITOP never holds every source on the heap)
 * gives what Redis's byte-by-byte definition gives: the result as long as the longest source, a
 * missing key or the bytes past a source's end read as zero.
 */
class BitOpsFoldTest {

  @Provide
  Arbitrary<List<byte[]>> sources() {
    Arbitrary<byte[]> one = Arbitraries.bytes().array(byte[].class).ofMaxSize(40).injectNull(0.2);
    return one.list().ofMinSize(1).ofMaxSize(6);
  }

  @Property(tries = 500)
  void foldedOneSourceAtATime_equalsTheDefinition(@ForAll("sources") List<byte[]> sources,
      @ForAll BitOps.Op op) {
    List<byte[]> used = op == BitOps.Op.NOT ? sources.subList(0, 1) : sources;
    byte[][] array = used.toArray(new byte[0][]);

    assertThat(BitOps.bitOp(op, array)).isEqualTo(byDefinition(op, array));
  }

  private static byte[] byDefinition(BitOps.Op op, byte[][] sources) {
    int len = 0;
    for (byte[] s : sources) {
      len = Math.max(len, s == null ? 0 : s.length);
    }
    byte[] out = new byte[len];
    for (int i = 0; i < len; i++) {
      int acc = at(sources[0], i);
      for (int k = 1; k < sources.length; k++) {
        int b = at(sources[k], i);
        acc = switch (op) {
          case AND -> acc & b;
          case OR -> acc | b;
          case XOR -> acc ^ b;
          case NOT -> acc;
        };
      }
      out[i] = (byte) (op == BitOps.Op.NOT ? ~acc : acc);
    }
    return out;
  }

  private static int at(byte[] v, int i) {
    return v == null || i >= v.length ? 0 : v[i] & 0xFF;
  }
}
