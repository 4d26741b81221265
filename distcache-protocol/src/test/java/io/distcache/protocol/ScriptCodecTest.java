package io.distcache.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** SCRIPT request values: EVAL's and FCALL's, the user replaced, and lists that do not match their extras. */
class ScriptCodecTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void eval_roundTrip_noFunction() {
    Frame f = ScriptCodec.request(b("return 1"), "alice", List.of(b("k")), List.of(b("a1"), b("a2")),
        ScriptCodec.READ_ONLY);
    ScriptCodec.Script s = ScriptCodec.decode(f);
    assertThat(s.isFunction()).isFalse();
    assertThat(s.function()).isNull();
    assertThat(s.body()).isEqualTo(b("return 1"));
    assertThat(s.user()).isEqualTo("alice");
    assertThat(s.keys()).containsExactly(b("k"));
    assertThat(s.args()).containsExactly(b("a1"), b("a2"));
    assertThat(s.readOnly()).isTrue();
    assertThat(f.key()).isEqualTo(b("k"));
  }

  @Test
  void fcall_roundTrip_functionNameBetweenUserAndKeys() {
    Frame f = ScriptCodec.request(b("#!lua name=lib\n..."), "bob", "myfunc", List.of(b("k1"), b("k2")),
        List.of(b("x")), ScriptCodec.FCALL_RO);
    ScriptCodec.Script s = ScriptCodec.decode(f);
    assertThat(s.isFunction()).isTrue();
    assertThat(s.function()).isEqualTo("myfunc");
    assertThat(s.flags() & ScriptCodec.FUNCTION).isEqualTo(ScriptCodec.FUNCTION);
    assertThat(s.keys()).containsExactly(b("k1"), b("k2"));
    assertThat(s.args()).containsExactly(b("x"));
    ScriptCodec.Script asCarol = ScriptCodec.decode(ScriptCodec.withUser(f, "carol"));
    assertThat(asCarol.user()).isEqualTo("carol");
    assertThat(asCarol.function()).isEqualTo("myfunc");
    assertThat(asCarol.keys()).containsExactly(b("k1"), b("k2"));
  }

  @Test
  void evalRequest_functionFlagInFlags_ignored() {
    // The EVAL form never claims a function name it does not carry.
    ScriptCodec.Script s = ScriptCodec.decode(ScriptCodec.request(b("return 1"), "u", List.of(), List.of(b("a")),
        ScriptCodec.FUNCTION));
    assertThat(s.isFunction()).isFalse();
    assertThat(s.args()).containsExactly(b("a"));
  }

  @Test
  void functionFlag_listWithoutAName_refused() {
    Frame f = Frame.request(Opcode.SCRIPT, 0, Frame.EMPTY, ListCodec.encodeKeys(List.of(b("body"), b("user"))), 0,
        ScriptCodec.FUNCTION);
    assertThatThrownBy(() -> ScriptCodec.decode(f)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("a function name");
  }
}
