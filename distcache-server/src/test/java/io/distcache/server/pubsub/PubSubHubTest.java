package io.distcache.server.pubsub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.HeapBudgets;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * PubSubHub's bound on the work of matching one message against every pattern, and what its
 * subscriptions count in the node's heap total.
 */
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
      HubSubscriptions.psubscribe(hub, r, b("*" + "a".repeat(494) + String.format("%04d", i) + "b"));
    }
    return hub;
  }

  @Test
  void publish_patternsCostingMoreThanTheBudget_refusedBeforeDelivering() {
    Recorder r = new Recorder();
    PubSubHub hub = hubWithCostlyPatterns(r, 20); // 20 x 500 x 65,536: 655 M steps without the budget
    HubSubscriptions.subscribe(hub, r, b("a".repeat(65536)));
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
    HubSubscriptions.subscribe(hub, r, b("a".repeat(65536)));

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
      HubSubscriptions.psubscribe(hub, r, b("orders." + i + ".*"));
    }
    HubSubscriptions.psubscribe(hub, r, b("*"));

    assertThat(hub.publish(b("orders.42.created"), b("m"))).isEqualTo(2);
    assertThat(hub.patternMatchesCutShort()).isZero();
    assertThat(hub.matchSteps()).isLessThan(PubSubHub.MAX_PUBLISH_MATCH_STEPS / 50);
  }

  @Test
  void subscriptions_countInTheNodesHeapBudgets_refusedThereWithTheSharedLimit_andGivenBackExactly() {
    HeapBudgets heap = new HeapBudgets(2_000);
    PubSubHub hub = new PubSubHub(heap);
    Recorder r = new Recorder();
    byte[] a = b("a".repeat(100));
    byte[] c = b("c".repeat(100));
    long each = 100 + PubSubHub.SUBSCRIPTION_OVERHEAD_BYTES;
    try (PubSubHub.Reservation room = hub.reserve(List.of(a, c))) {
      assertThat(heap.usedBytes()).as("a reservation holds its room until its subscriptions are added")
          .isEqualTo(2 * each);
      hub.subscribe(r, a, room);
      hub.psubscribe(r, c, room);
    }
    assertThat(heap.usedBytes()).as("each subscription took its bytes out of the reservation").isEqualTo(2 * each);
    assertThat(hub.subscriptionBytes()).isEqualTo(2 * each);
    heap.take(800); // another budget's bytes: 1,768 together
    assertThatThrownBy(() -> hub.reserve(List.of(a))).isInstanceOf(PubSubHub.Refused.class)
        .hasMessage("these subscriptions (484 bytes) would pass 2000 bytes, the node's limit on what its heap budgets"
            + " hold together (1768 held)");
    assertThat(heap.usedBytes()).as("a refusal changes neither total").isEqualTo(1_768);
    assertThat(hub.subscriptionBytes()).isEqualTo(2 * each);
    hub.unsubscribe(r, a);
    hub.punsubscribe(r, c);
    hub.unsubscribe(r, a); // not subscribed any more: gives back nothing
    assertThat(hub.subscriptionBytes()).isZero();
    assertThat(heap.usedBytes()).isEqualTo(800);
  }

  /**
   * The review's race, in order: two connections reserve before either adds its subscriptions.
   * Room for one: the second is refused, and what the first adds is counted once.
   */
  @Test
  void twoReservations_inRoomForOne_secondIsRefused_beforeEitherSubscribes() {
    long each = 100 + PubSubHub.SUBSCRIPTION_OVERHEAD_BYTES;
    HeapBudgets heap = new HeapBudgets(each * 3 / 2);
    PubSubHub hub = new PubSubHub(heap);
    Recorder one = new Recorder();
    byte[] a = b("a".repeat(100));
    byte[] c = b("c".repeat(100));

    PubSubHub.Reservation first = hub.reserve(List.of(a));
    assertThatThrownBy(() -> hub.reserve(List.of(c))).isInstanceOf(PubSubHub.Refused.class)
        .hasMessage("these subscriptions (484 bytes) would pass 726 bytes, the node's limit on what its heap budgets"
            + " hold together (484 held)");
    hub.subscribe(one, a, first);
    first.close();
    first.close(); // closing twice gives back nothing more
    assertThat(heap.usedBytes()).isEqualTo(each);
    assertThat(hub.subscriptionBytes()).isEqualTo(each);
    hub.unsubscribe(one, a);
    assertThat(heap.usedBytes()).isZero();
    assertThat(hub.subscriptionBytes()).isZero();
  }

  /** The same race on threads: both reserve, then both subscribe; at most the total is ever counted. */
  @Test
  void concurrentReservations_inRoomForOne_admitOne_andTheTotalNeverPassesItsLimit() throws Exception {
    long each = 100 + PubSubHub.SUBSCRIPTION_OVERHEAD_BYTES;
    HeapBudgets heap = new HeapBudgets(each * 3 / 2);
    PubSubHub hub = new PubSubHub(heap);
    java.util.concurrent.CountDownLatch bothReserved = new java.util.concurrent.CountDownLatch(2);
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      List<java.util.concurrent.Future<Boolean>> admitted = new ArrayList<>();
      for (String name : List.of("a", "c")) {
        admitted.add(pool.submit(() -> {
          byte[] channel = b(name.repeat(100));
          PubSubHub.Reservation room;
          try {
            room = hub.reserve(List.of(channel));
          } catch (PubSubHub.Refused e) {
            bothReserved.countDown();
            return false;
          }
          bothReserved.countDown();
          bothReserved.await(); // the other has reserved or been refused before anyone subscribes
          try (room) {
            hub.subscribe(new Recorder(), channel, room);
          }
          return true;
        }));
      }
      int count = 0;
      for (java.util.concurrent.Future<Boolean> f : admitted) {
        count += f.get(10, java.util.concurrent.TimeUnit.SECONDS) ? 1 : 0;
      }
      assertThat(count).as("subscriptions admitted").isEqualTo(1);
      assertThat(heap.usedBytes()).isEqualTo(each).isLessThanOrEqualTo(heap.limitBytes());
      assertThat(hub.subscriptionBytes()).isEqualTo(each);
    } finally {
      pool.shutdownNow();
    }
  }

  /** A name subscribed already, or named twice in one command, takes nothing: the reservation gives it back. */
  @Test
  void reservation_forNamesAlreadySubscribed_givesBackWhatNoNewSubscriptionTook() {
    HeapBudgets heap = new HeapBudgets(10_000);
    PubSubHub hub = new PubSubHub(heap);
    Recorder r = new Recorder();
    byte[] a = b("a".repeat(100));
    long each = 100 + PubSubHub.SUBSCRIPTION_OVERHEAD_BYTES;
    try (PubSubHub.Reservation room = hub.reserve(List.of(a, a, a))) {
      assertThat(hub.subscribe(r, a, room)).isTrue();
      assertThat(hub.subscribe(r, a, room)).isFalse();
      assertThat(hub.subscribe(r, a, room)).isFalse();
      assertThat(heap.usedBytes()).as("held until the command is done").isEqualTo(3 * each);
    }
    assertThat(heap.usedBytes()).isEqualTo(each);
    assertThat(hub.subscriptionBytes()).isEqualTo(each);
  }
}
