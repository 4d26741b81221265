package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.server.pubsub.PubSubHub;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The node's heap budgets filled together through a real node: a MULTI queue (ClientMemory) and
 * subscriptions (PubSubHub), each far within its own bound, are held to the node's shared limit
 * (HeapBudgets), and what was refused succeeds once the other is dropped. A script's small strings
 * are not refused for the total, and a replica's peer link is not refused by a total its clients filled.
 */
class HeapBudgetsNodeTest {
  /** The shared limit of the nodes here; each budget's own bound is a share of the heap, far above it. */
  private static final long LIMIT = 1_000_000;
  private static final int VALUE_BYTES = 50_000;

  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private DistCacheNode node() {
    DistCacheNode n = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L * 1024 * 1024)
        .heapBudgetBytes(LIMIT).start();
    toClose.add(n);
    return n;
  }

  private Conn connect(DistCacheNode node) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", node.port()), 5_000);
    s.setSoTimeout(10_000);
    Conn c = new Conn(s);
    toClose.add(c);
    return c;
  }

  /** A connection holding a MULTI queue of 12 SETs of 50,000 bytes (about 600 KB counted), never EXEC'd. */
  private Conn queueFilled(DistCacheNode node) throws IOException {
    Conn c = connect(node);
    assertThat(c.call("MULTI")).isEqualTo("+OK");
    for (int i = 0; i < 12; i++) {
      assertThat(c.call("SET", "k" + i, "v".repeat(VALUE_BYTES))).isEqualTo("+QUEUED");
    }
    return c;
  }

  /**
   * SUBSCRIBE of 1,100 channels of 10 bytes: about 433 KB counted (each name's bytes and 384 for
   * what holds it), more than the queue leaves, in a request small enough (about 21 KB) that the
   * requests' budget, counted in the same total while it arrives, has room for it.
   */
  private static String[] channels() {
    String[] names = new String[1_101];
    names[0] = "SUBSCRIBE";
    for (int i = 1; i < names.length; i++) {
      names[i] = String.format("channel%03d", i);
    }
    return names;
  }

  @Test
  void subscriptions_pastTheSharedLimitBesideAMultiQueue_areRefused_untilTheQueueIsDiscarded() throws Exception {
    DistCacheNode node = node();
    Conn queue = queueFilled(node);
    Conn sub = connect(node);
    long queued = node.heapBudgets().usedBytes();
    assertThat(queued).as("the queue counts in the shared total").isBetween(600_000L, LIMIT);

    String refused = sub.call(channels());
    // What is held: the queue, and the SUBSCRIBE's own arguments while it runs (the requests' budget).
    assertThat(refused).matches("-ERR these subscriptions \\(433501 bytes\\) would pass 1000000 bytes,"
        + " the node's limit on what its heap budgets hold together \\(\\d+ held\\)");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(
        () -> assertThat(node.heapBudgets().usedBytes()).as("a refusal adds nothing").isEqualTo(queued));
    // Each alone is far within its own bound: the subscriptions' is at least 16 MiB.
    assertThat(sub.call("PING")).isEqualTo("+PONG");

    assertThat(queue.call("DISCARD")).isEqualTo("+OK");
    await().atMost(Duration.ofSeconds(10)).until(() -> node.heapBudgets().usedBytes() == 0);
    String confirmed = sub.call(channels());
    assertThat(confirmed).startsWith("*3").contains("subscribe");
    assertThat(node.heapBudgets().usedBytes()).isGreaterThan(400_000L);

    // And the other way round: the subscriptions now leave the queue too little (refused as it is
    // queued, or while its request arrives: the requests' budget counts in the same total).
    assertThat(queue.call("MULTI")).isEqualTo("+OK");
    String last = "";
    for (int i = 0; i < 12 && !last.startsWith("-"); i++) {
      last = queue.call("SET", "k" + i, "v".repeat(VALUE_BYTES));
    }
    assertThat(last).startsWith("-ERR ").contains("would pass 1000000 bytes, the node's limit on what its heap budgets"
        + " hold together");
  }

  @Test
  void scriptsLargeAllocation_pastTheSharedLimitBesideAMultiQueue_isRefused_untilTheQueueIsDiscarded() throws Exception {
    DistCacheNode node = node();
    Conn queue = queueFilled(node);
    Conn script = connect(node);
    // Far within the script's own limit (a quarter of the heap): refused only for the queue beside it.
    assertThat(script.call("EVAL", "return #string.rep('x', 500000)", "0")).startsWith("-ERR")
        .contains("string.rep result of 500000 bytes would pass 1000000 bytes, the node's limit on what its heap"
            + " budgets hold together (");
    assertThat(queue.call("DISCARD")).isEqualTo("+OK");
    await().atMost(Duration.ofSeconds(10)).until(() -> node.heapBudgets().usedBytes() == 0);
    assertThat(script.call("EVAL", "return #string.rep('x', 500000)", "0")).isEqualTo(":500000");
  }

  /**
   * A script's small string (64 KiB or less) is judged by the script's measured growth, as a small
   * concatenation is, not refused because the total has no room for it: the total's limit leaves a
   * script its room outside it. A larger one is still refused before it is made.
   */
  @Test
  void scriptsSmallStringRep_runsWhileTheTotalHasNoRoomForIt_aLargerOneIsRefused() throws Exception {
    DistCacheNode node = node();
    Conn script = connect(node);
    // Loaded while there is room: a body the cache does not hold counts in the total while it compiles.
    String sha = script.call("SCRIPT", "LOAD", "return #string.rep('x', tonumber(ARGV[1]))");
    HeapBudgets heap = node.heapBudgets();
    // Other budgets' bytes, up to 2,000 short of the limit: room for an EVALSHA that waits for the
    // script lane to be let go by the one before (it counts in the total while it waits), none for
    // a string of 4 KiB.
    long filled = LIMIT - 2_000 - heap.usedBytes();
    heap.force(filled);
    try {
      for (String size : List.of("10", "4096", "65536")) {
        assertThat(script.call("EVALSHA", sha, "0", size)).isEqualTo(":" + size);
      }
      assertThat(script.call("EVALSHA", sha, "0", "65537")).startsWith("-ERR")
          .contains("string.rep result of 65537 bytes would pass 1000000 bytes, the node's limit on what its heap"
              + " budgets hold together (");
    } finally {
      heap.release(filled);
    }
  }

  /**
   * A peer's link (BinaryRequestHandler.becomePeer) is refused by --max-input-buffer alone: with the
   * replica's total filled by its clients, a replicated write of 300,000 bytes, which arrives over
   * several reads and so is held on the link while incomplete, still reaches the replica and is
   * acknowledged (sync replication: OK only once the replica has it), while the replica's clients
   * are refused what needs room in the total.
   */
  @Test
  void replicatedWrites_reachAReplicaWhoseTotalItsClientsFilled_whileTheirRequestsAreRefused() throws Exception {
    ClusterFixture cluster = new ClusterFixture(1, io.distcache.server.cluster.ReplicationMode.SYNC);
    toClose.add(cluster);
    cluster.heapBudgetBytes = LIMIT;
    cluster.cluster(2);
    DistCacheNode owner = cluster.nodes.get(0);
    DistCacheNode replica = cluster.nodes.get(1);
    String key = keyOwnedBy(owner, "replicated");
    assertThat(owner.membership().placement().replicas(io.distcache.protocol.cluster.KeySlot.of(ClusterFixture.b(key))))
        .containsExactly(replica.membership().self());

    // The replica's clients fill its total: a MULTI queue, then subscriptions up to 20,000 bytes short of it.
    Conn queue = queueFilled(replica);
    Conn sub = connect(replica);
    HeapBudgets heap = replica.heapBudgets();
    String[] fill = new String[1 + (int) ((LIMIT - heap.usedBytes() - 20_000) / 394)]; // 10-byte names: 394 each
    fill[0] = "SUBSCRIBE";
    for (int i = 1; i < fill.length; i++) {
      fill[i] = String.format("channel%03d", i);
    }
    assertThat(sub.call(fill)).startsWith("*3");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(
        () -> assertThat(heap.usedBytes()).isBetween(LIMIT - 30_000, LIMIT - 10_000));

    Conn writer = connect(owner);
    for (int i = 0; i < 3; i++) {
      String value = "r".repeat(300_000) + i;
      assertThat(writer.call("SET", key, value)).isEqualTo("+OK");
      assertThat(replica.store().peekEntry(ClusterFixture.b(key))).as("the replica's copy after write %d", i)
          .isNotNull().extracting(e -> e.value()).isEqualTo(ClusterFixture.b(value));
    }

    // The replica's clients, meanwhile, are refused what needs room in the total: as the request
    // is queued or subscribed, or already while it arrives (then their connection is closed).
    String shared = "would pass 1000000 bytes, the node's limit on what its heap budgets hold together";
    Conn another = connect(replica);
    assertThat(another.call("MULTI")).isEqualTo("+OK");
    assertThat(another.call("SET", "more", "v".repeat(VALUE_BYTES))).startsWith("-ERR ").contains(shared);
    assertThat(connect(replica).call(channels())).startsWith("-ERR ").contains(shared);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(
        () -> assertThat(heap.usedBytes()).as("the link's frames were counted while they arrived, then given back")
            .isBetween(LIMIT - 30_000, LIMIT - 10_000));
  }

  private static String keyOwnedBy(DistCacheNode owner, String prefix) {
    for (int i = 0; ; i++) {
      String k = prefix + i;
      int slot = io.distcache.protocol.cluster.KeySlot.of(ClusterFixture.b(k));
      if (owner.membership().placement().owner(slot).equals(owner.membership().self())) {
        return k;
      }
    }
  }

  @Test
  void closingConnections_givesBackEverythingTheyHeld() throws Exception {
    DistCacheNode node = node();
    Conn queue = queueFilled(node);
    Conn sub = connect(node);
    String[] few = {"SUBSCRIBE", "a".repeat(50_000), "b".repeat(50_000)};
    assertThat(sub.call(few)).startsWith("*3");
    assertThat(node.heapBudgets().usedBytes()).isGreaterThan(700_000L);

    Conn other = connect(node);
    String memory = other.call("INFO", "memory");
    assertThat(memory).contains("distcache_heap_budgets_used:" + node.heapBudgets().usedBytes() + "\r\n")
        .contains("distcache_heap_budgets_limit:1000000\r\n");
    assertThat(other.call(channels())).contains("the node's limit on what its heap budgets hold together");

    // Closed without DISCARD or UNSUBSCRIBE: the queue and the subscriptions are given back whole.
    queue.close();
    sub.close();
    await().atMost(Duration.ofSeconds(10)).until(() -> node.heapBudgets().usedBytes() == 0);
    assertThat(other.call(channels())).startsWith("*3");
  }

  /**
   * A SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE of names the connection holds already adds nothing, so it
   * is confirmed while the total has no room for it, as Redis needs no memory for it either; a new
   * name of each kind is still refused. (Each name used to be counted again, and refused.)
   */
  @Test
  void resubscribing_namesTheConnectionHolds_isConfirmedWithTheTotalFull_whileNewNamesOfEachKindAreRefused()
      throws Exception {
    DistCacheNode node = node();
    Conn sub = connect(node);
    String[] names = channels();
    assertThat(sub.call(names)).isEqualTo("*3 subscribe channel001 :1");
    assertThat(sub.replies(names.length - 2)).isEqualTo("*3 subscribe channel1100 :1100");
    assertThat(sub.call("PSUBSCRIBE", "news.*")).isEqualTo("*3 psubscribe news.* :1101");
    assertThat(sub.call("SSUBSCRIBE", "orders")).isEqualTo("*3 ssubscribe orders :1");

    // A queue beside them takes what is left, down to less than one more subscription's bytes.
    Conn queue = connect(node);
    assertThat(queue.call("MULTI")).isEqualTo("+OK");
    int k = 0;
    for (int size : new int[] {VALUE_BYTES, 5_000, 500, 50, 1}) {
      while (queue.call("SET", "k" + k++, "v".repeat(size)).equals("+QUEUED")) {
        // queued: try another of this size
      }
    }
    long full = node.heapBudgets().usedBytes();
    assertThat(LIMIT - full).as("room left").isLessThan(PubSubHub.SUBSCRIPTION_OVERHEAD_BYTES);

    // Ten held names (about 3.9 KB if counted again): a request small enough that the requests'
    // budget, in the same total, still takes it.
    String[] ten = java.util.Arrays.copyOfRange(names, 0, 11);
    assertThat(sub.call(ten)).isEqualTo("*3 subscribe channel001 :1101");
    assertThat(sub.replies(9)).isEqualTo("*3 subscribe channel010 :1101");
    assertThat(sub.call("PSUBSCRIBE", "news.*")).isEqualTo("*3 psubscribe news.* :1101");
    assertThat(sub.call("SSUBSCRIBE", "orders")).isEqualTo("*3 ssubscribe orders :1");
    assertThat(sub.call("SUBSCRIBE", "channel001", "channel001")).isEqualTo("*3 subscribe channel001 :1101");
    assertThat(sub.replies(1)).isEqualTo("*3 subscribe channel001 :1101");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(
        () -> assertThat(node.heapBudgets().usedBytes()).as("nothing more held").isEqualTo(full));

    assertThat(sub.call("SUBSCRIBE", "channel001", "fresh")).startsWith("-ERR these subscriptions (")
        .contains("the node's limit on what its heap budgets hold together");
    assertThat(sub.call("PSUBSCRIBE", "fresh.*")).startsWith("-ERR these subscriptions (");
    assertThat(sub.call("SSUBSCRIBE", "fresh")).startsWith("-ERR these subscriptions (");
    assertThat(sub.call("PING")).isEqualTo("*2 pong ");
  }

  /** A raw RESP connection: each call sends one command and reads one reply (arrays read whole, flattened). */
  private static final class Conn implements AutoCloseable {
    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;

    Conn(Socket socket) throws IOException {
      this.socket = socket;
      this.out = socket.getOutputStream();
      this.in = new BufferedInputStream(socket.getInputStream());
    }

    String call(String... args) throws IOException {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      b.writeBytes(("*" + args.length + "\r\n").getBytes(StandardCharsets.UTF_8));
      for (String a : args) {
        byte[] bytes = a.getBytes(StandardCharsets.UTF_8);
        b.writeBytes(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.UTF_8));
        b.writeBytes(bytes);
        b.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
      }
      out.write(b.toByteArray());
      out.flush();
      return reply();
    }

    /** Reads {@code n} more replies (the rest of a multi-name SUBSCRIBE's), returning the last. */
    String replies(int n) throws IOException {
      String last = null;
      for (int i = 0; i < n; i++) {
        last = reply();
      }
      return last;
    }

    private String reply() throws IOException {
      String line = line();
      char type = line.charAt(0);
      if (type == '$') {
        int n = Integer.parseInt(line.substring(1));
        if (n < 0) {
          return line;
        }
        byte[] data = in.readNBytes(n + 2);
        return new String(data, 0, n, StandardCharsets.UTF_8);
      }
      if (type == '*') {
        int n = Integer.parseInt(line.substring(1));
        StringBuilder sb = new StringBuilder(line);
        for (int i = 0; i < n; i++) {
          sb.append(' ').append(reply());
        }
        return sb.toString();
      }
      return line;
    }

    private String line() throws IOException {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      for (int c; (c = in.read()) != '\n'; ) {
        if (c < 0) {
          throw new IOException("closed");
        }
        if (c != '\r') {
          b.write(c);
        }
      }
      return b.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
