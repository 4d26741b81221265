package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CommandIndexTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  private static CommandIndex<String> index(String... names) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String n : names) {
      m.put(n, "spec:" + n);
    }
    return new CommandIndex<>(m);
  }

  @Test
  void get_anyLetterCase_findsTheCommand() {
    CommandIndex<String> idx = index("get", "set", "incrbyfloat");
    assertThat(idx.get(b("get"))).isEqualTo("spec:get");
    assertThat(idx.get(b("GET"))).isEqualTo("spec:get");
    assertThat(idx.get(b("gEt"))).isEqualTo("spec:get");
    assertThat(idx.get(b("IncrByFloat"))).isEqualTo("spec:incrbyfloat");
  }

  @Test
  void get_unknownOrPrefixOrLonger_returnsNull() {
    CommandIndex<String> idx = index("get", "set");
    assertThat(idx.get(b("ge"))).isNull();
    assertThat(idx.get(b("gets"))).isNull();
    assertThat(idx.get(b(""))).isNull();
    assertThat(idx.get(b("del"))).isNull();
  }

  @Test
  void get_nonAsciiBytes_neverFoldedIntoAMatch() {
    CommandIndex<String> idx = index("get");
    // 0xC7 is 'G' (0x47) with the high bit set: only ASCII A-Z fold.
    assertThat(idx.get(new byte[] {(byte) 0xC7, 'E', 'T'})).isNull();
    // '@' (0x40) sits just below 'A'; folding it would give '`'.
    assertThat(index("`et").get(b("@ET"))).isNull();
  }

  @Test
  void get_everyStandardCommand_foundByItsUpperCaseName() {
    CommandTable table = CommandTable.standard();
    Map<String, CommandSpec> byName = new LinkedHashMap<>();
    for (CommandSpec spec : table.all()) {
      byName.put(spec.name(), spec);
    }
    CommandIndex<CommandSpec> idx = new CommandIndex<>(byName);
    for (CommandSpec spec : table.all()) {
      assertThat(idx.get(b(spec.name().toUpperCase(java.util.Locale.ROOT)))).isSameAs(spec);
    }
  }
}
