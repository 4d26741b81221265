package io.distcache.server.pubsub;

import io.distcache.server.HeapBudgets;
import io.distcache.server.resp.GlobMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/*
 * Design: the node's subscription registry, shared by every connection. Three maps (channels,
 * patterns, shard channels) from a name to the set of local subscribers; a name is in a map only
 * while it has a subscriber (compute() adds and removes it atomically, so PUBSUB CHANNELS and the
 * INFO counts never show an empty one). Publishing reads the maps without a lock: a message
 * reaches the subscribers registered when it is matched, like Redis, where a SUBSCRIBE that
 * completes after a PUBLISH does not see it.
 *
 * A PUBLISH is matched against every pattern (as Redis does); GlobMatcher is iterative and
 * O(pattern x channel), so a pathological pattern costs a product of two bounded lengths, never an
 * exponential backtrack. But the patterns add up: 300 patterns of 500 bytes against a 64 KiB
 * channel took 59 s of a PUBLISH. So one message's matching shares one GlobMatcher.Budget of
 * MAX_PUBLISH_MATCH_STEPS over all patterns (about 16 ms of one core; 100,000 ordinary patterns
 * against a 100-byte channel take a few million). The patterns are matched before anything is
 * delivered, so a client's PUBLISH that would pass it is refused whole (TooCostly), delivered to
 * nobody and not sent to the other members. A message that cannot be refused (from a peer, a
 * keyspace notification) goes to the patterns matched within the budget; the others miss it and
 * INFO's pubsub_pattern_matches_cut_short counts the message.
 *
 * What subscriptions hold counts in the node's HeapBudgets too. A command's reservation takes its
 * bytes in both at once and keeps them (a refusal by either leaves both unchanged); each
 * subscription it adds moves its bytes from the reservation to what the hub holds, and closing the
 * reservation gives back what no new subscription took (a name subscribed already or named twice).
 * Checking and giving back, then counting each subscription as it is added, let two connections
 * subscribing at once each be admitted into room for one (a reviewer): the room must stay taken
 * from the check to the add. An unsubscribe gives back to both.
 *
 * The cluster side is a Broadcaster: publish() delivers here and hands the message to it for the
 * other members (PubSubFanout); deliver() is local only, for messages that came from a peer,
 * keyspace notifications (node-local, as in Redis Cluster), and later CLIENT TRACKING's
 * __redis__:invalidate messages.
 */

/** Channels, patterns and shard channels with their local subscribers; publishing to them. */
public final class PubSubHub {
  /** Sends a message published here to the other members of the cluster. */
  public interface Broadcaster {
    Broadcaster NONE = (shard, channel, message) -> {};

    void broadcast(boolean shard, byte[] channel, byte[] message);
  }

  /**
   * The longest pattern PSUBSCRIBE accepts. With MAX_MATCHED_CHANNEL_BYTES it bounds one match to
   * 512 x 64 KiB steps however the pattern is built (Redis has no limit; no client needs more).
   */
  public static final int MAX_PATTERN_BYTES = 512;
  /** Channels longer than this (a key of 64 KiB with its keyspace prefix fits) are not matched against patterns. */
  public static final int MAX_MATCHED_CHANNEL_BYTES = 64 * 1024 + 64;

  /** Subscriptions (channels, patterns and shard channels together) one connection may hold. */
  public static final int MAX_SUBSCRIPTIONS_PER_CONNECTION = 100_000;
  /** The longest channel name SUBSCRIBE and SSUBSCRIBE accept (a key's limit). */
  public static final int MAX_CHANNEL_BYTES = 64 * 1024;
  /**
   * What every subscription of the node together may hold: the name's bytes plus
   * SUBSCRIPTION_OVERHEAD_BYTES each, so subscribers cannot grow the heap without bound: 1/8 of
   * the JVM heap's cap, 16 to 256 MiB (64 MiB with the launcher's 512 MiB).
   */
  public static final long MAX_SUBSCRIPTION_BYTES =
      Math.max(16L << 20, Math.min(256L << 20, Runtime.getRuntime().maxMemory() / 8));
  /**
   * What one subscription holds on the heap beside its name: the name's copy, its entries in the
   * connection's and the hub's maps, the subscriber set (about 370 bytes measured; counted as 96
   * before, with a fixed 256 MiB bound, 20 connections of 100,000 channels filled a 512 MiB heap
   * under the bound's count, a tester).
   */
  public static final int SUBSCRIPTION_OVERHEAD_BYTES = 384;

  /** The GlobMatcher steps one message may spend on matching every pattern of the node. */
  public static final long MAX_PUBLISH_MATCH_STEPS = 1L << 24;

  /** A client's PUBLISH whose pattern matching would pass MAX_PUBLISH_MATCH_STEPS; nothing was delivered. */
  public static final class TooCostly extends RuntimeException {
    TooCostly(int channelBytes, int patterns) {
      super("matching the channel (" + channelBytes + " bytes) against this node's " + patterns
          + " patterns needs more than " + MAX_PUBLISH_MATCH_STEPS + " steps, the limit per message;"
          + " the message was not published");
    }
  }

  private final java.util.concurrent.atomic.AtomicLong subscriptionBytes = new java.util.concurrent.atomic.AtomicLong();
  /** Steps spent matching messages against patterns, since start (tests: the work is bounded). */
  private final java.util.concurrent.atomic.LongAdder matchSteps = new java.util.concurrent.atomic.LongAdder();
  /** Messages that could not be refused and missed patterns for want of steps. */
  private final java.util.concurrent.atomic.LongAdder cutShort = new java.util.concurrent.atomic.LongAdder();

  private final HeapBudgets heap;

  /** A hub counting its subscriptions in a parent of its own (no node around it). */
  public PubSubHub() {
    this(HeapBudgets.unbounded());
  }

  /** A hub whose subscriptions count in the node's {@code heap} too. */
  public PubSubHub(HeapBudgets heap) {
    this.heap = heap;
  }

  /** A SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE without room: nothing was reserved or subscribed. */
  public static final class Refused extends RuntimeException {
    Refused(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * Room taken for one command's subscriptions, in the hub's bound and the node's total. Confined
   * to the connection's event loop, which reserves, subscribes and closes it in one command.
   */
  public final class Reservation implements AutoCloseable {
    private long left;

    private Reservation(long bytes) {
      this.left = bytes;
    }

    /** A subscription of {@code bytes} was added: it holds them from now on, out of this reservation. */
    private void use(long bytes) {
      long taken = Math.min(left, bytes);
      left -= taken;
      // Never beyond what was reserved for the names given; if a caller adds another, it is
      // already on the maps and cannot be refused.
      count(bytes - taken);
    }

    private PubSubHub hub() {
      return PubSubHub.this;
    }

    /** Gives back what no new subscription took. */
    @Override
    public void close() {
      if (left > 0) {
        subscriptionBytes.addAndGet(-left);
        heap.release(left);
        left = 0;
      }
    }
  }

  /**
   * Reserves room for subscriptions of {@code names} (one connection's command, before it replies
   * anything); throws Refused, reserving nothing, when the hub's bound or the node's heap total
   * has no room (the message names the limit and what is held). Subscribe with the reservation,
   * then close it.
   */
  public Reservation reserve(List<byte[]> names) {
    long cost = 0;
    for (byte[] n : names) {
      cost += n.length + SUBSCRIPTION_OVERHEAD_BYTES;
    }
    if (cost == 0) {
      return new Reservation(0); // nothing new to hold: never refused, even past a limit counted by force
    }
    long held;
    do {
      held = subscriptionBytes.get();
      if (held + cost > MAX_SUBSCRIPTION_BYTES) {
        throw new Refused("the node's subscriptions hold " + held + " bytes; the limit is " + MAX_SUBSCRIPTION_BYTES);
      }
    } while (!subscriptionBytes.compareAndSet(held, held + cost));
    // The hub's own count shows a cost the total then refuses for a moment, never the total: every
    // budget reads the total, only SUBSCRIBEs read this one.
    if (!heap.take(cost)) {
      subscriptionBytes.addAndGet(-cost);
      throw new Refused("these subscriptions (" + cost + " bytes) " + heap.overLimit());
    }
    return new Reservation(cost);
  }

  /** INFO: the bytes the node's subscriptions account for. */
  public long subscriptionBytes() {
    return subscriptionBytes.get();
  }

  private final Map<Name, Set<Subscriber>> channels = new ConcurrentHashMap<>();
  private final Map<Name, Set<Subscriber>> patterns = new ConcurrentHashMap<>();
  private final Map<Name, Set<Subscriber>> shardChannels = new ConcurrentHashMap<>();
  private volatile Broadcaster broadcaster = Broadcaster.NONE;

  /** Where PUBLISH and an owner's SPUBLISH go beyond this node; default nowhere (a lone node). */
  public void broadcaster(Broadcaster b) {
    this.broadcaster = b == null ? Broadcaster.NONE : b;
  }

  // ---- subscriptions (true when the subscriber did not have it) ----
  // A new subscription's bytes come out of the reservation (reserve), taken for the names of the
  // command that adds it.

  public boolean subscribe(Subscriber s, byte[] channel, Reservation r) {
    return add(channels, s, channel, r);
  }

  public boolean unsubscribe(Subscriber s, byte[] channel) {
    return remove(channels, s, channel);
  }

  public boolean psubscribe(Subscriber s, byte[] pattern, Reservation r) {
    return add(patterns, s, pattern, r);
  }

  public boolean punsubscribe(Subscriber s, byte[] pattern) {
    return remove(patterns, s, pattern);
  }

  public boolean ssubscribe(Subscriber s, byte[] channel, Reservation r) {
    return add(shardChannels, s, channel, r);
  }

  public boolean sunsubscribe(Subscriber s, byte[] channel) {
    return remove(shardChannels, s, channel);
  }

  private boolean add(Map<Name, Set<Subscriber>> map, Subscriber s, byte[] name, Reservation r) {
    if (r.hub() != this) {
      // Its bytes were taken from another node's counts: using them here would move them between nodes.
      throw new IllegalArgumentException("a reservation of another node's hub");
    }
    boolean[] added = new boolean[1];
    map.compute(new Name(name), (k, set) -> {
      Set<Subscriber> subs = set != null ? set : ConcurrentHashMap.newKeySet();
      added[0] = subs.add(s);
      return subs;
    });
    if (added[0]) {
      r.use(name.length + SUBSCRIPTION_OVERHEAD_BYTES);
    }
    return added[0];
  }

  /** Counts {@code bytes} a subscription already holds, in both totals, whatever their limits. */
  private void count(long bytes) {
    if (bytes > 0) {
      subscriptionBytes.addAndGet(bytes);
      heap.force(bytes);
    }
  }

  private boolean remove(Map<Name, Set<Subscriber>> map, Subscriber s, byte[] name) {
    boolean[] removed = new boolean[1];
    map.computeIfPresent(new Name(name), (k, set) -> {
      removed[0] = set.remove(s);
      return set.isEmpty() ? null : set;
    });
    if (removed[0]) {
      subscriptionBytes.addAndGet(-(name.length + SUBSCRIPTION_OVERHEAD_BYTES));
      heap.release(name.length + SUBSCRIPTION_OVERHEAD_BYTES);
    }
    return removed[0];
  }

  // ---- publishing ----

  /**
   * PUBLISH: this node's receivers, and the message goes to the other members too. Throws TooCostly,
   * having delivered and sent nothing, when matching the patterns would pass MAX_PUBLISH_MATCH_STEPS.
   */
  public long publish(byte[] channel, byte[] message) {
    long n = deliver(channel, message, true);
    broadcaster.broadcast(false, channel, message);
    return n;
  }

  /** SPUBLISH on the owner of the channel's slot: this node's receivers; relayed to the other members. */
  public long publishShard(byte[] channel, byte[] message) {
    long n = deliverShard(channel, message);
    broadcaster.broadcast(true, channel, message);
    return n;
  }

  /**
   * Delivers to this node's subscribers of {@code channel} and of the patterns matching it, and
   * nowhere else; returns how many received it (a subscriber of the channel and of a matching
   * pattern receives it twice and counts twice, as in Redis).
   */
  public long deliver(byte[] channel, byte[] message) {
    return deliver(channel, message, false);
  }

  private long deliver(byte[] channel, byte[] message, boolean refusable) {
    List<Map.Entry<Name, Set<Subscriber>>> matched = matchPatterns(channel, refusable);
    long n = 0;
    Set<Subscriber> subs = channels.get(new Name(channel));
    if (subs != null) {
      for (Subscriber s : subs) {
        s.message(channel, message);
        n++;
      }
    }
    for (Map.Entry<Name, Set<Subscriber>> e : matched) {
      byte[] pattern = e.getKey().bytes;
      for (Subscriber s : e.getValue()) {
        s.patternMessage(pattern, channel, message);
        n++;
      }
    }
    return n;
  }

  /** The patterns matching {@code channel}, within one message's budget (see the Design note). */
  private List<Map.Entry<Name, Set<Subscriber>>> matchPatterns(byte[] channel, boolean refusable) {
    if (patterns.isEmpty() || channel.length > MAX_MATCHED_CHANNEL_BYTES) {
      return List.of();
    }
    List<Map.Entry<Name, Set<Subscriber>>> matched = new ArrayList<>();
    GlobMatcher.Budget budget = new GlobMatcher.Budget(MAX_PUBLISH_MATCH_STEPS);
    try {
      for (Map.Entry<Name, Set<Subscriber>> e : patterns.entrySet()) {
        if (GlobMatcher.matches(e.getKey().bytes, channel, budget)) {
          matched.add(e);
        } else if (budget.exhausted()) {
          if (refusable) {
            throw new TooCostly(channel.length, patterns.size());
          }
          cutShort.increment();
          break;
        }
      }
    } finally {
      matchSteps.add(budget.steps());
    }
    return matched;
  }

  /** Steps spent matching messages against patterns since start. */
  long matchSteps() {
    return matchSteps.sum();
  }

  /** INFO's pubsub_pattern_matches_cut_short: messages from peers or keyspace events that missed patterns for want of steps. */
  public long patternMatchesCutShort() {
    return cutShort.sum();
  }

  /** Delivers to this node's subscribers of the shard channel only. */
  public long deliverShard(byte[] channel, byte[] message) {
    Set<Subscriber> subs = shardChannels.get(new Name(channel));
    if (subs == null) {
      return 0;
    }
    long n = 0;
    for (Subscriber s : subs) {
      s.shardMessage(channel, message);
      n++;
    }
    return n;
  }

  // ---- introspection (PUBSUB, INFO) ----

  /** PUBSUB CHANNELS: active channels matching the pattern (all when null). */
  public List<byte[]> channels(byte[] pattern) {
    return names(channels, pattern);
  }

  /** PUBSUB SHARDCHANNELS. */
  public List<byte[]> shardChannels(byte[] pattern) {
    return names(shardChannels, pattern);
  }

  private static List<byte[]> names(Map<Name, Set<Subscriber>> map, byte[] pattern) {
    List<byte[]> out = new ArrayList<>();
    for (Name n : map.keySet()) {
      if (pattern == null || GlobMatcher.matches(pattern, n.bytes)) {
        out.add(n.bytes);
      }
    }
    return out;
  }

  /** PUBSUB NUMSUB: subscribers of the channel on this node. */
  public int numsub(byte[] channel) {
    Set<Subscriber> s = channels.get(new Name(channel));
    return s == null ? 0 : s.size();
  }

  /** PUBSUB SHARDNUMSUB. */
  public int shardNumsub(byte[] channel) {
    Set<Subscriber> s = shardChannels.get(new Name(channel));
    return s == null ? 0 : s.size();
  }

  /** PUBSUB NUMPAT: distinct patterns subscribed on this node (INFO's pubsub_patterns). */
  public int numpat() {
    return patterns.size();
  }

  /** INFO's pubsub_channels. */
  public int channelCount() {
    return channels.size();
  }

  /** INFO's pubsubshard_channels. */
  public int shardChannelCount() {
    return shardChannels.size();
  }
}
