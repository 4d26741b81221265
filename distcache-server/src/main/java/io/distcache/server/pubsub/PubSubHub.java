package io.distcache.server.pubsub;

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
 * exponential backtrack.
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
   * SUBSCRIPTION_OVERHEAD_BYTES each, so subscribers cannot grow the heap without bound.
   */
  public static final long MAX_SUBSCRIPTION_BYTES = 256L << 20;
  public static final int SUBSCRIPTION_OVERHEAD_BYTES = 96;

  private final java.util.concurrent.atomic.AtomicLong subscriptionBytes = new java.util.concurrent.atomic.AtomicLong();

  /**
   * Reserves room for subscriptions of {@code names} (one connection's command, checked before it
   * replies anything); false when the node-wide bound would be passed. Released by the unsubscribes.
   */
  public boolean reserve(List<byte[]> names) {
    long cost = 0;
    for (byte[] n : names) {
      cost += n.length + SUBSCRIPTION_OVERHEAD_BYTES;
    }
    long now = subscriptionBytes.addAndGet(cost);
    if (now > MAX_SUBSCRIPTION_BYTES) {
      subscriptionBytes.addAndGet(-cost);
      return false;
    }
    subscriptionBytes.addAndGet(-cost); // taken again, exactly, by each add that is new
    return true;
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

  public boolean subscribe(Subscriber s, byte[] channel) {
    return add(channels, s, channel);
  }

  public boolean unsubscribe(Subscriber s, byte[] channel) {
    return remove(channels, s, channel);
  }

  public boolean psubscribe(Subscriber s, byte[] pattern) {
    return add(patterns, s, pattern);
  }

  public boolean punsubscribe(Subscriber s, byte[] pattern) {
    return remove(patterns, s, pattern);
  }

  public boolean ssubscribe(Subscriber s, byte[] channel) {
    return add(shardChannels, s, channel);
  }

  public boolean sunsubscribe(Subscriber s, byte[] channel) {
    return remove(shardChannels, s, channel);
  }

  private boolean add(Map<Name, Set<Subscriber>> map, Subscriber s, byte[] name) {
    boolean[] added = new boolean[1];
    map.compute(new Name(name), (k, set) -> {
      Set<Subscriber> subs = set != null ? set : ConcurrentHashMap.newKeySet();
      added[0] = subs.add(s);
      return subs;
    });
    if (added[0]) {
      subscriptionBytes.addAndGet(name.length + SUBSCRIPTION_OVERHEAD_BYTES);
    }
    return added[0];
  }

  private boolean remove(Map<Name, Set<Subscriber>> map, Subscriber s, byte[] name) {
    boolean[] removed = new boolean[1];
    map.computeIfPresent(new Name(name), (k, set) -> {
      removed[0] = set.remove(s);
      return set.isEmpty() ? null : set;
    });
    if (removed[0]) {
      subscriptionBytes.addAndGet(-(name.length + SUBSCRIPTION_OVERHEAD_BYTES));
    }
    return removed[0];
  }

  // ---- publishing ----

  /** PUBLISH: this node's receivers, and the message goes to the other members too. */
  public long publish(byte[] channel, byte[] message) {
    long n = deliver(channel, message);
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
    long n = 0;
    Set<Subscriber> subs = channels.get(new Name(channel));
    if (subs != null) {
      for (Subscriber s : subs) {
        s.message(channel, message);
        n++;
      }
    }
    if (!patterns.isEmpty() && channel.length <= MAX_MATCHED_CHANNEL_BYTES) {
      for (Map.Entry<Name, Set<Subscriber>> e : patterns.entrySet()) {
        byte[] pattern = e.getKey().bytes;
        if (GlobMatcher.matches(pattern, channel)) {
          for (Subscriber s : e.getValue()) {
            s.patternMessage(pattern, channel, message);
            n++;
          }
        }
      }
    }
    return n;
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
