package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.resp.FunctionChanges.Entry;
import io.distcache.server.resp.FunctionChanges.Stamp;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The node's libraries: all-or-nothing changes, name clashes with Redis's texts, and the code limit;
 * and their sync: stamped changes from several members converge whatever the order, deletions and
 * flushes win over what they removed, and a change seen twice changes nothing.
 */
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
    r.delete("a");
    assertThatThrownBy(() -> r.delete("a")).hasMessage("ERR Library not found");
    assertThat(r.libraryOf("f1")).isNull();
    assertThat(r.codeBytes()).isZero();
    r.load(lib("b", 10, "f1"), false);
    assertThat(r.libraryOf("f1").name()).isEqualTo("b");
  }

  /** A library whose code names it (the merge checks the code) with these functions. */
  private static FunctionLibrary real(String name, String... functions) {
    Map<String, FunctionLibrary.Function> fs = new java.util.LinkedHashMap<>();
    for (String f : functions) {
      fs.put(f, new FunctionLibrary.Function(f, null, 0));
    }
    return new FunctionLibrary(name, ("#!lua name=" + name + "\n-- " + String.join(",", functions))
        .getBytes(StandardCharsets.UTF_8), fs);
  }

  private static FunctionRegistry member(String id) {
    FunctionRegistry r = new FunctionRegistry();
    r.origin(() -> id);
    return r;
  }

  /** What a receiving node does: takes the wanted libraries (here: known by code) and merges. */
  private static void deliver(FunctionRegistry to, FunctionChanges change, Map<String, FunctionLibrary> known) {
    Map<String, FunctionLibrary> loaded = new HashMap<>();
    for (Entry e : to.wanted(change)) {
      FunctionLibrary lib = known.get(new String(e.code(), StandardCharsets.UTF_8));
      loaded.put(e.name(), lib);
    }
    to.merge(change, loaded);
  }

  private static Map<String, FunctionLibrary> byCode(FunctionLibrary... libs) {
    Map<String, FunctionLibrary> m = new HashMap<>();
    for (FunctionLibrary l : libs) {
      m.put(new String(l.code(), StandardCharsets.UTF_8), l);
    }
    return m;
  }

  private static List<String> names(FunctionRegistry r) {
    return r.all().stream().map(FunctionLibrary::name).toList();
  }

  @Test
  void merge_changesOfThreeMembersInAnyOrder_everyMemberEndsTheSame() {
    FunctionLibrary a1 = real("a", "fa");
    FunctionLibrary a2 = real("a", "fa", "fa2");
    FunctionLibrary b = real("b", "fb");
    FunctionLibrary c = real("c", "fc");
    Map<String, FunctionLibrary> known = byCode(a1, a2, b, c);
    FunctionRegistry x = member("x");
    FunctionRegistry y = member("y");
    FunctionRegistry z = member("z");
    List<FunctionChanges> changes = new ArrayList<>();
    changes.add(x.load(a1, false));
    changes.add(x.load(b, false));
    deliver(y, changes.get(0), known); // y saw a1, so its replace is stamped after it
    changes.add(y.load(a2, true));
    changes.add(z.load(c, false));
    changes.add(x.delete("b"));
    for (long seed = 0; seed < 20; seed++) {
      List<FunctionChanges> order = new ArrayList<>(changes);
      Collections.shuffle(order, new Random(seed));
      FunctionRegistry fresh = member("fresh");
      for (FunctionChanges ch : order) {
        deliver(fresh, ch, known);
        deliver(fresh, ch, known); // seen twice: nothing more happens
      }
      assertThat(names(fresh)).as("order %s", seed).containsExactly("a", "c");
      assertThat(fresh.libraryOf("fa2").name()).isEqualTo("a"); // y's replace is the later stamp
      assertThat(fresh.libraryOf("fb")).isNull();
    }
  }

  @Test
  void merge_flushRemovesOnlyWhatWasStampedBefore() {
    FunctionLibrary a = real("a", "fa");
    FunctionLibrary b = real("b", "fb");
    Map<String, FunctionLibrary> known = byCode(a, b);
    FunctionRegistry x = member("x");
    FunctionRegistry y = member("y");
    FunctionChanges loadA = x.load(a, false);
    deliver(y, loadA, known);
    FunctionChanges flush = y.flush();
    FunctionChanges loadB = y.load(b, false);
    FunctionRegistry late = member("late");
    deliver(late, loadB, known);
    deliver(late, flush, known);
    deliver(late, loadA, known); // older than the flush: stays out
    assertThat(names(late)).containsExactly("b");
    deliver(x, flush, known);
    deliver(x, loadB, known);
    assertThat(names(x)).containsExactly("b");
  }

  @Test
  void merge_deletedLibraryDoesNotComeBackFromAMemberThatMissedTheDelete() {
    FunctionLibrary a = real("a", "fa");
    Map<String, FunctionLibrary> known = byCode(a);
    FunctionRegistry x = member("x");
    FunctionRegistry stale = member("stale");
    FunctionChanges load = x.load(a, false);
    deliver(stale, load, known);
    x.delete("a");
    // x pulls from the stale member: the stale member answers with what x lacks, which is nothing.
    FunctionRegistry.Missing fromStale = stale.missing(x.summary(), 1 << 20);
    assertThat(fromStale.changes().entries()).isEmpty();
    deliver(x, load, known); // the old load again
    assertThat(names(x)).isEmpty();
    // The stale member pulls from x and learns the deletion.
    deliver(stale, x.missing(stale.summary(), 1 << 20).changes(), known);
    assertThat(names(stale)).isEmpty();
  }

  @Test
  void merge_functionNameClashOfConcurrentLoads_laterStampKeepsItOnEveryMember() {
    FunctionLibrary one = real("one", "f");
    FunctionLibrary two = real("two", "f");
    Map<String, FunctionLibrary> known = byCode(one, two);
    FunctionRegistry x = member("x");
    FunctionRegistry y = member("y");
    FunctionChanges fromX = x.load(one, false);
    FunctionChanges fromY = y.load(two, false); // same counter (1), origin "y" > "x": later
    deliver(x, fromY, known);
    deliver(y, fromX, known);
    assertThat(names(x)).containsExactly("two");
    assertThat(names(y)).containsExactly("two");
    assertThat(x.libraryOf("f").name()).isEqualTo("two");
  }

  @Test
  void load_sameCodeThatCameFromAPeer_isNoError_otherwiseRedisError() {
    FunctionLibrary a = real("a", "fa");
    FunctionRegistry x = member("x");
    FunctionRegistry y = member("y");
    deliver(y, x.load(a, false), byCode(a));
    assertThat(y.load(a, false)).isNull(); // JedisCluster's LOAD on every primary
    assertThatThrownBy(() -> x.load(a, false)).hasMessage("ERR Library 'a' already exists");
    assertThatThrownBy(() -> y.load(real("a", "other"), false)).hasMessage("ERR Library 'a' already exists");
    x.delete("a");
    deliver(y, x.missing(y.summary(), 1 << 20).changes(), byCode(a));
    assertThat(y.delete("a").isEmpty()).isTrue(); // deleted by x already: OK, nothing to send
    assertThatThrownBy(() -> x.delete("a")).hasMessage("ERR Library not found");
  }

  @Test
  void merge_overTheLibraryLimit_refusedWhole() {
    FunctionRegistry x = member("x");
    FunctionRegistry y = member("y");
    List<FunctionLibrary> mine = new ArrayList<>();
    for (int i = 0; i < FunctionRegistry.MAX_LIBRARIES; i++) {
      mine.add(real("l" + i, "f" + i));
    }
    y.restore(mine, FunctionRegistry.Policy.APPEND);
    FunctionLibrary extra = real("extra", "fe");
    FunctionChanges change = x.load(extra, false);
    assertThatThrownBy(() -> deliver(y, change, byCode(extra)))
        .hasMessageContaining("1001 function libraries, more than the limit of 1000");
    assertThat(y.all()).hasSize(FunctionRegistry.MAX_LIBRARIES);
    assertThat(y.libraryOf("fe")).isNull();
  }

  @Test
  void stamps_orderedByCounterThenOrigin() {
    assertThat(new Stamp(2, "a").after(new Stamp(1, "z"))).isTrue();
    assertThat(new Stamp(1, "b").after(new Stamp(1, "a"))).isTrue();
    assertThat(new Entry("n", new Stamp(1, "a"), true, null).replaces(new Stamp(1, "a"), false)).isTrue();
    assertThat(new Entry("n", new Stamp(1, "a"), false, null).replaces(new Stamp(1, "a"), true)).isFalse();
  }
}
