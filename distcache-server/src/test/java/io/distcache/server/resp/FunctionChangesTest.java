package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.resp.FunctionChanges.Entry;
import io.distcache.server.resp.FunctionChanges.Stamp;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** FUNCTION_SYNC's change sets: the exact bytes, a round trip, and hostile peer bytes refused with what is wrong. */
class FunctionChangesTest {
  private static final byte[] CODE = "#!lua name=lib\nredis.register_function('f', function() return 1 end)"
      .getBytes(StandardCharsets.UTF_8);

  private static FunctionChanges sample() {
    return FunctionChanges.of(new Stamp(3, "x"), List.of(new Entry("lib", new Stamp(5, "node1"), false, CODE),
        new Entry("gone", new Stamp(4, "node2"), true, null)));
  }

  @Test
  void encode_summary_exactBytes() {
    byte[] summary = FunctionChanges.of(new Stamp(1, "ab"), List.of(new Entry("L", new Stamp(2, "c"), true, null)))
        .encode();
    byte[] expected = {
        1,                              // format version
        0, 0, 0, 0, 0, 0, 0, 1, 2, 'a', 'b', // flush stamp: counter 1, origin "ab"
        0, 1,                           // one entry
        0, 0, 0, 0, 0, 0, 0, 2, 1, 'c', // its stamp: counter 2, origin "c"
        1,                              // kind: deleted
        0, 1, 'L'};                     // name "L"
    assertThat(summary).isEqualTo(expected);
  }

  @Test
  void decode_roundTrip() {
    FunctionChanges back = FunctionChanges.decode(sample().encode(), 0, false);
    assertThat(back.flush()).isEqualTo(new Stamp(3, "x"));
    assertThat(back.entries()).hasSize(2);
    assertThat(back.entries().get(0).name()).isEqualTo("lib");
    assertThat(back.entries().get(0).code()).isEqualTo(CODE);
    assertThat(back.entries().get(1).deleted()).isTrue();
    assertThat(back.entries().get(1).stamp()).isEqualTo(new Stamp(4, "node2"));
  }

  @Test
  void decode_hostileBytes_refusedNamingTheProblem() {
    byte[] good = sample().encode();
    assertThatThrownBy(() -> FunctionChanges.decode(new byte[0], 0, false)).hasMessage("empty function change set");
    byte[] version = good.clone();
    version[0] = 9;
    assertThatThrownBy(() -> FunctionChanges.decode(version, 0, false))
        .hasMessage("function change set version 9, expected 1");
    assertThatThrownBy(() -> FunctionChanges.decode(Arrays.copyOf(good, 5), 0, false))
        .hasMessage("the flush stamp: the stamp is cut short");
    byte[] counter = good.clone();
    ByteBuffer.wrap(counter).putLong(1, Long.MAX_VALUE);
    assertThatThrownBy(() -> FunctionChanges.decode(counter, 0, false))
        .hasMessageContaining("stamp counter 9223372036854775807 is negative or more than 4294967296 ahead");
    byte[] entries = good.clone();
    ByteBuffer.wrap(entries).putShort(1 + 10, (short) 0xFFFF);
    assertThatThrownBy(() -> FunctionChanges.decode(entries, 0, false))
        .hasMessage("function change set holds 65535 entries, more than the limit of 2000");
    byte[] name = good.clone();
    int nameLength = 1 + 10 + 2 + 8 + 1 + 5 + 1; // first entry's name length field
    ByteBuffer.wrap(name).putShort(nameLength, (short) 60000);
    assertThatThrownBy(() -> FunctionChanges.decode(name, 0, false))
        .hasMessageStartingWith("entry 1 of 2 claims a name of 60000 bytes");
    byte[] badName = good.clone();
    badName[nameLength + 2] = '-';
    assertThatThrownBy(() -> FunctionChanges.decode(badName, 0, false)).hasMessage("entry 1 of 2: bad library name '-ib'");
    byte[] checksum = good.clone();
    checksum[checksum.length - 1] ^= 1;
    assertThatThrownBy(() -> FunctionChanges.decode(checksum, 0, false))
        .hasMessage("function change set's code: DUMP payload version or checksum are wrong");
    assertThatThrownBy(() -> FunctionChanges.decode(good, 0, true)).hasMessageEndingWith("bytes of code");
  }

  @Test
  void decode_codeOfAnotherLibrary_refused() {
    byte[] other = "#!lua name=other\nredis.register_function('g', function() return 1 end)".getBytes(StandardCharsets.UTF_8);
    byte[] forged = FunctionChanges.of(Stamp.ZERO, List.of(new Entry("lib", new Stamp(1, "x"), false, other))).encode();
    assertThatThrownBy(() -> FunctionChanges.decode(forged, 0, false))
        .hasMessage("library 'lib' carries the code of library 'other'");
    byte[] noCode = FunctionChanges.of(Stamp.ZERO, List.of(new Entry("lib", new Stamp(1, "x"), false, null))).encode();
    assertThatThrownBy(() -> FunctionChanges.decode(noCode, 0, false))
        .hasMessage("function change set names 1 libraries without their code");
  }
}
