package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The node's libraries: all-or-nothing changes, name clashes with Redis's texts, and the code limit. */
class FunctionRegistryTest {
  private static FunctionLibrary lib(String name, int codeBytes, String... functions) {
    Map<String, FunctionLibrary.Function> fs = new java.util.LinkedHashMap<>();
    for (String f : functions) {
      fs.put(f, new FunctionLibrary.Function(f, null, 0));
    }
    return new FunctionLibrary(name, new byte[codeBytes], fs);
  }

  @Test
  void load_codeOverTheLimit_refusedAndNothingChanges() {
    FunctionRegistry r = new FunctionRegistry();
    r.load(lib("a", 9 << 20, "fa"), false);
    assertThatThrownBy(() -> r.load(lib("b", 9 << 20, "fb"), false))
        .hasMessage("ERR the node would keep 18874368 bytes of function library code, more than the limit of 16777216"
            + " (function-max-code-bytes); delete some with FUNCTION DELETE");
    assertThat(r.all()).extracting(FunctionLibrary::name).containsExactly("a");
    assertThat(r.libraryOf("fb")).isNull();
    assertThat(r.codeBytes()).isEqualTo(9 << 20);
    r.load(lib("a", 1, "fa2"), true); // replacing frees the old code
    r.load(lib("b", 9 << 20, "fb"), false);
    assertThat(r.codeBytes()).isEqualTo((9 << 20) + 1);
  }

  @Test
  void restore_append_clashRefusedWhole() {
    FunctionRegistry r = new FunctionRegistry();
    r.load(lib("a", 10, "f1"), false);
    assertThatThrownBy(() -> r.restore(List.of(lib("b", 10, "f2"), lib("a", 10, "f3")), FunctionRegistry.Policy.APPEND))
        .hasMessage("ERR Library a already exists");
    assertThatThrownBy(() -> r.restore(List.of(lib("b", 10, "f2"), lib("c", 10, "f1")), FunctionRegistry.Policy.REPLACE))
        .hasMessage("ERR Function f1 already exists");
    assertThat(r.all()).extracting(FunctionLibrary::name).containsExactly("a");
    r.restore(List.of(lib("b", 10, "f2"), lib("c", 10, "f1")), FunctionRegistry.Policy.FLUSH);
    assertThat(r.all()).extracting(FunctionLibrary::name).containsExactly("b", "c");
    assertThat(r.libraryOf("f1").name()).isEqualTo("c");
    assertThat(r.functionCount()).isEqualTo(2);
  }

  @Test
  void delete_freesTheFunctionNames() {
    FunctionRegistry r = new FunctionRegistry();
    r.load(lib("a", 10, "f1", "f2"), false);
    assertThat(r.delete("a")).isTrue();
    assertThat(r.delete("a")).isFalse();
    assertThat(r.libraryOf("f1")).isNull();
    assertThat(r.codeBytes()).isZero();
    r.load(lib("b", 10, "f1"), false);
    assertThat(r.libraryOf("f1").name()).isEqualTo("b");
  }
}
