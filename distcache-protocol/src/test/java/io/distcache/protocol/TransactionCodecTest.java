package io.distcache.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** TransactionCodec.holds: finds an opcode among a batch's requests without decoding it, never throws. */
class TransactionCodecTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static final Frame SET = Frame.request(Opcode.SET, 0, b("k"), b("v"), 0);
  private static final Frame SCRIPT = ScriptCodec.request(b("return 1"), "default", List.of(b("k")), List.of(), 0);
  private static final TransactionCodec.Condition WATCHED = new TransactionCodec.Condition(b("w"), 7, -1);

  @Test
  void holds_scriptAfterConditionsAndOtherRequests_true() {
    byte[] batch = TransactionCodec.encodeRequest(List.of(WATCHED), List.of(SET, SCRIPT));
    assertThat(TransactionCodec.holds(batch, Opcode.SCRIPT)).isTrue();
    assertThat(TransactionCodec.holds(batch, Opcode.SET)).isTrue();
    assertThat(TransactionCodec.decodeRequest(batch).requests()).hasSize(2);
  }

  @Test
  void holds_noSuchRequest_false() {
    assertThat(TransactionCodec.holds(TransactionCodec.encodeRequest(List.of(WATCHED), List.of(SET)), Opcode.SCRIPT))
        .isFalse();
    assertThat(TransactionCodec.holds(TransactionCodec.encodeRequest(List.of(), List.of()), Opcode.SCRIPT)).isFalse();
  }

  @Test
  void holds_malformedOrTruncatedBatch_falseNeverThrows() {
    byte[] batch = TransactionCodec.encodeRequest(List.of(WATCHED), List.of(SET, SCRIPT));
    // The SCRIPT item is the batch's last: opcode, flags, status, extras count, extras, key, value.
    int scriptAt = batch.length - (5 + 8 * SCRIPT.extras().length + 4 + SCRIPT.key().length + 4 + SCRIPT.value().length);
    for (int len = 0; len <= scriptAt; len++) {
      assertThat(TransactionCodec.holds(Arrays.copyOf(batch, len), Opcode.SCRIPT)).as("cut at %d", len).isFalse();
    }
    assertThat(TransactionCodec.holds(new byte[] {0x7f, -1, -1, -1}, Opcode.SCRIPT)).isFalse();
    assertThat(TransactionCodec.holds(null, Opcode.SCRIPT)).isFalse();
  }
}
