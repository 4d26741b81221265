package io.distcache.server.pubsub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** PubSubHub's bound on the work of matching one message against every pattern. */
class PubSubHubTest {
  /** Records what it receives, on the publishing thread. */
  private static final class Recorder implements Subscriber {
    final List<String> got = new ArrayList<>();

    @Override
    public void message(byte[] channel, byte[] message) {
      got.add("message " + channel.length);
    }

    @Override
    public void patternMessage(byte[] pattern, byte[] channel, byte[] message) {
      got.add("pmessage " + pattern.length);
    }

    @Override
    public void shardMessage(byte[] channel, byte[] message) {
      got.add("smessage " + channel.length);
    }
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** The finding, scaled down: each 500-byte pattern is retried at each of the channel's 65,536 bytes. */
  private static PubSubHub hubWithCostlyPatterns(Recorder r, int count) {
    PubSubHub hub = new PubSubHub();
    for (int i = 0; i < count; i++) {
      hub.psubscribe(r, b("*" + "a".repeat(494) + String.format("%04d", i) + "b"));
    }
    return hub;
  }

  @Test
  void publish_patternsCostingMoreThanTheBudget_refusedBeforeDelivering() {
    Recorder r = new Recorder();
    PubSubHub hub = hubWithCostlyPatterns(r, 20); // 20 x 500 x 65,536: 655 M steps without the budget
    hub.subscribe(r, b("a".repeat(65536)));
    List<byte[]> sent = new ArrayList<>();
    hub.broadcaster((shard, channel, message) -> sent.add(channel));

    assertThatThrownBy(() -> hub.publish(b("a".repeat(65536)), b("m")))
        .isInstanceOf(PubSubHub.TooCostly.class)
        .hasMessage("matching the channel (65536 bytes) against this node's 20 patterns needs more than 16777216"
            + " steps, the limit per message; the message was not published");
    assertThat(r.got).isEmpty(); // not even the channel's own subscriber
    assertThat(sent).isEmpty(); // nor the other members
    assertThat(hub.matchSteps()).isLessThanOrEqualTo(PubSubHub.MAX_PUBLISH_MATCH_STEPS + 512);
  }

  @Test
  void deliver_fromAPeerOverTheBudget_channelSubscribersGetItAndItIsCounted() {
    Recorder r = new Recorder();
    PubSubHub hub = hubWithCostlyPatterns(r, 20);
    hub.subscribe(r, b("a".repeat(65536)));

    assertThat(hub.deliver(b("a".repeat(65536)), b("m"))).isEqualTo(1);
    assertThat(r.got).containsExactly("message 65536");
    assertThat(hub.patternMatchesCutShort()).isEqualTo(1);
    assertThat(hub.matchSteps()).isLessThanOrEqualTo(PubSubHub.MAX_PUBLISH_MATCH_STEPS + 512);
  }

  @Test
  void publish_manyOrdinaryPatterns_deliveredWithinTheBudget() {
    Recorder r = new Recorder();
    PubSubHub hub = new PubSubHub();
    for (int i = 0; i < 10_000; i++) {
      hub.psubscribe(r, b("orders." + i + ".*"));
    }
    hub.psubscribe(r, b("*"));

    assertThat(hub.publish(b("orders.42.created"), b("m"))).isEqualTo(2);
    assertThat(hub.patternMatchesCutShort()).isZero();
    assertThat(hub.matchSteps()).isLessThan(PubSubHub.MAX_PUBLISH_MATCH_STEPS / 50);
  }

  @Test
  void subscriptions_countInTheNodesHeapBudgets_refusedThereWithTheSharedLimit_andGivenBackExactly() {
    io.distcache.server.HeapBudgets heap = new io.distcache.server.HeapBudgets(2_000);
    PubSubHub hub = new PubSubHub(heap);
    Recorder r = new Recorder();
    byte[] a = "a".repeat(100).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] b = "b".repeat(100).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    long each = 100 + PubSubHub.SUBSCRIPTION_OVERHEAD_BYTES;
    assertThat(hub.reserve(java.util.List.of(a, b))).isNull();
    assertThat(heap.usedBytes()).as("a reservation is given back; each new subscription takes again").isZero();
    hub.subscribe(r, a);
    hub.psubscribe(r, b);
    assertThat(heap.usedBytes()).isEqualTo(2 * each);
    heap.take(800); // another budget's bytes: 1,768 together
    assertThat(hub.reserve(java.util.List.of(a))).isEqualTo("these subscriptions (484 bytes) would pass 2000 bytes,"
        + " the node's limit on what its heap budgets hold together (1768 held)");
    assertThat(heap.usedBytes()).as("a refusal changes neither total").isEqualTo(1_768);
    assertThat(hub.subscriptionBytes()).isEqualTo(2 * each);
    hub.unsubscribe(r, a);
    hub.punsubscribe(r, b);
    hub.unsubscribe(r, a); // not subscribed any more: gives back nothing
    assertThat(hub.subscriptionBytes()).isZero();
    assertThat(heap.usedBytes()).isEqualTo(800);
  }
}
