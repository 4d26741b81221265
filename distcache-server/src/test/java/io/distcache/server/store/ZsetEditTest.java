package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.store.ScoredMembers.Scored;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * ZsetEdit against the decoding path it replaces (ScoredMembers: decode, change, encode): on random
 * sets and random calls the built payload must be the same bytes, its length what length() said,
 * and changed() true exactly when the bytes differ. Names are drawn from a few short strings with a
 * high byte so that equal scores, prefixes and unsigned order all occur; scores from a few values
 * with -0.0, 0.0 and the infinities.
 */
class ZsetEditTest {
  private static final double[] SCORES = {Double.NEGATIVE_INFINITY, -1.5, -0.0, 0.0, 0.5, 1, 2, Double.POSITIVE_INFINITY};
  private static final String[] NAMES = {"", "a", "ab", "abc", "b", "ba", "\u00ff", "\u00ffa", "c", "mmmmmmmmmm1",
      "mmmmmmmmmm2", "mmmmmmmmmmmmmmmmmm"};

  record Call(boolean put, int name, int score) {}

  record Case(List<Integer> members, List<Integer> memberScores, List<Integer> names, List<Call> calls,
      boolean direct) {}

  @Provide
  Arbitrary<Case> cases() {
    Arbitrary<Integer> name = Arbitraries.integers().between(0, NAMES.length - 1);
    Arbitrary<Integer> score = Arbitraries.integers().between(0, SCORES.length - 1);
    Arbitrary<Call> call = Combinators.combine(Arbitraries.of(true, true, false), Arbitraries.integers().between(0, 5),
        score).as(Call::new);
    return Combinators.combine(name.list().ofMaxSize(12), score.list().ofSize(12), name.list().ofMinSize(1).ofMaxSize(6),
        call.list().ofMaxSize(10), Arbitraries.of(true, false)).as(Case::new);
  }

  private static byte[] bytes(int name) {
    return NAMES[name].getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
  }

  @Property(tries = 2000)
  void buildsWhatDecodingChangingAndEncodingGives(@ForAll("cases") Case c) {
    ScoredMembers model = ScoredMembers.decode(null);
    for (int i = 0; i < c.members().size(); i++) {
      model.put(bytes(c.members().get(i)), SCORES[c.memberScores().get(i)]);
    }
    byte[] old = model.size() == 0 ? null : model.encode();
    ByteBuffer view = null;
    if (old != null) {
      view = c.direct() ? ByteBuffer.allocateDirect(old.length).put(old).flip() : ByteBuffer.wrap(old);
      view = view.asReadOnlyBuffer();
    }
    List<byte[]> names = new ArrayList<>();
    for (int n : c.names()) {
      names.add(bytes(n));
    }
    ZsetEdit edit = ZsetEdit.of(view, names);
    for (Call call : c.calls()) {
      int i = call.name() % names.size();
      byte[] member = names.get(i);
      assertThat(edit.score(i)).isEqualTo(model.score(member));
      if (call.put()) {
        assertThat(edit.put(i, SCORES[call.score()])).isEqualTo(model.put(member, SCORES[call.score()]));
      } else {
        assertThat(edit.remove(i)).isEqualTo(model.remove(member));
      }
      assertThat(edit.size()).isEqualTo(model.size());
    }
    byte[] expected = model.size() == 0 ? null : model.encode();
    boolean differs = !Arrays.equals(old, expected);
    assertThat(edit.changed()).as("changed()").isEqualTo(differs);
    if (model.size() > 0) {
      byte[] built = edit.build();
      assertThat(built).isEqualTo(expected);
      assertThat(edit.length()).isEqualTo(built.length);
      assertThat(CollectionCodec.decodeZset(built)).hasSize(model.size()); // in order, as the decoder checks
    }
  }

  @Test
  void insertsAtEitherEndAndBetweenEqualScoresByMemberBytes() {
    List<Scored> members = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      members.add(new Scored(String.format("m%05d", i).getBytes(), i / 3)); // three members a score
    }
    byte[] old = CollectionCodec.encodeZset(members);
    List<byte[]> names = List.of("a".getBytes(), "m00100".getBytes(), "m00150x".getBytes(), "z".getBytes(),
        "m00299".getBytes());
    ZsetEdit edit = ZsetEdit.of(ByteBuffer.wrap(old), names);
    edit.put(0, -1); // before the first
    edit.put(1, 1000); // moved to the end
    edit.put(2, 50); // between m00150 and m00151 (score 50, member bytes)
    edit.put(3, 1000); // after m00100 at the end (same score, "z" > "m00100")
    edit.remove(4); // the old last
    ScoredMembers model = ScoredMembers.decode(old);
    model.put(names.get(0), -1);
    model.put(names.get(1), 1000);
    model.put(names.get(2), 50);
    model.put(names.get(3), 1000);
    model.remove(names.get(4));
    assertThat(edit.build()).isEqualTo(model.encode());
  }

  @Test
  void refusesAnOutOfOrderPayloadWhereItInserts() {
    byte[] bad = CollectionCodec.encodeZset(List.of(new Scored("a".getBytes(), 2), new Scored("b".getBytes(), 3)));
    ByteBuffer.wrap(bad).putDouble(1 + 1 + 1, 5); // a's score now 5, above b's 3
    ZsetEdit edit = ZsetEdit.of(ByteBuffer.wrap(bad), List.of("c".getBytes()));
    edit.put(0, 10); // placed after a (5), so the walk reaches b (3)
    assertThatThrownBy(edit::build).isInstanceOf(IllegalStateException.class).hasMessageContaining("out of order");
  }

  @Test
  void refusesATruncatedPayload() {
    byte[] good = CollectionCodec.encodeZset(List.of(new Scored("a".getBytes(), 2)));
    ByteBuffer cut = ByteBuffer.wrap(Arrays.copyOf(good, good.length - 1));
    assertThatThrownBy(() -> ZsetEdit.of(cut, List.of("a".getBytes()))).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("truncated");
  }
}
