package io.distcache.server.pubsub;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class KeyspaceEventsTest {
  @Test
  void parseAndFormat_asRedis() {
    assertThat(KeyspaceEvents.parse("")).isZero();
    assertThat(KeyspaceEvents.format(KeyspaceEvents.parse("KEA"))).isEqualTo("AKE");
    assertThat(KeyspaceEvents.format(KeyspaceEvents.parse("Egx"))).isEqualTo("gxE");
    assertThat(KeyspaceEvents.format(KeyspaceEvents.parse("Kg$shzlxetdmn"))).isEqualTo("AKm"); // Redis drops n under A
    assertThat(KeyspaceEvents.format(KeyspaceEvents.parse("K$shzlxetdmn"))).isEqualTo("$lshzxetdnKm");
    assertThat(KeyspaceEvents.parse("Kq")).isEqualTo(-1);
    assertThat(KeyspaceEvents.parse("A") & KeyspaceEvents.KEY_MISS).isZero();
  }

  @Test
  void notify_publishesOnlyTheChosenClassesAndKinds() {
    PubSubHub hub = new PubSubHub();
    List<String> got = new ArrayList<>();
    Subscriber s = new Subscriber() {
      @Override
      public void message(byte[] channel, byte[] message) {
        got.add(new String(channel, StandardCharsets.UTF_8) + " " + new String(message, StandardCharsets.UTF_8));
      }

      @Override
      public void patternMessage(byte[] pattern, byte[] channel, byte[] message) {
        message(channel, message);
      }

      @Override
      public void shardMessage(byte[] channel, byte[] message) {}
    };
    HubSubscriptions.psubscribe(hub, s, "__key*".getBytes(StandardCharsets.UTF_8));
    KeyspaceEvents ev = new KeyspaceEvents(hub);
    boolean[] changed = new boolean[1];
    ev.onChange(() -> changed[0] = true);
    ev.notify(KeyspaceEvents.GENERIC, "del", "k".getBytes(StandardCharsets.UTF_8));
    assertThat(got).isEmpty();
    ev.flags(KeyspaceEvents.parse("Kg"));
    assertThat(changed[0]).isTrue();
    assertThat(ev.enabled(KeyspaceEvents.GENERIC)).isTrue();
    assertThat(ev.enabled(KeyspaceEvents.STRING)).isFalse();
    ev.notify(KeyspaceEvents.STRING, "set", "k".getBytes(StandardCharsets.UTF_8));
    ev.notify(KeyspaceEvents.GENERIC, "del", "k".getBytes(StandardCharsets.UTF_8));
    assertThat(got).containsExactly("__keyspace@0__:k del");
    ev.flags(KeyspaceEvents.parse("KEg"));
    got.clear();
    ev.notify(KeyspaceEvents.GENERIC, "expire", "k".getBytes(StandardCharsets.UTF_8));
    assertThat(got).containsExactly("__keyspace@0__:k expire", "__keyevent@0__:expire k");
  }
}
