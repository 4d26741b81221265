package io.distcache.client;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/*
 * Design: every operation is one Call (Calls.java: request layout and response reading) sent
 * through execute(); the blocking form is the async form plus a wait, so both behave the same.
 * The per-node work (connections, request ids, timeouts, reconnects) lives in NodePool and
 * NodeConnection, so that routing stays here, in dispatch().
 *
 * Routing. With a cluster view (ClusterRouting: members and placement from CLUSTER_MEMBERS), a
 * keyed request goes straight to the owner of its key's slot, flagged ROUTED. The owner serves it;
 * a node that is not the owner answers NOT_OWNER with the owner it knows and its placement epoch.
 * When that epoch is not older than ours our view is stale: the view is renewed and the request
 * resent unflagged to the named owner (a member we know; any node otherwise); when it is older the
 * node lags, and the request goes unflagged to any node. An unflagged request is served or
 * forwarded once, never answered NOT_OWNER, so a request costs at most one extra round trip. An
 * owner that refuses a connection is marked down and the request goes to any node too: nothing
 * was sent, so resending cannot apply it twice. A connection lost with the request in flight is
 * the caller's error, as in plain mode, because the request may have been applied. Multi-key
 * requests are split by slot owner, one unflagged part to each, and the replies merged in the
 * caller's order. SIZE, FLUSH and SCAN go to every key-owning member (summed, all flushed, walked
 * one member after the other with the member's position in the cursor). Everything else (no view,
 * STATS, RANDOM_KEY, MULTI_SET_IF_ABSENT) goes to "any node": the first reachable of the
 * configured addresses in order, then the known members, starting from the one that last
 * accepted a connection.
 *
 * Futures complete on the I/O threads without a hop to another executor, which keeps a reply's
 * latency to one thread switch; the price is that a blocking call from a callback would deadlock
 * its own I/O thread, so await() refuses it with a clear message instead.
 */

/**
 * The Java client of distcache. Thread-safe; create one per application and close it at the end.
 *
 * <pre>{@code
 * try (DistCacheClient cache = DistCacheClient.builder().addresses("127.0.0.1:7000").build()) {
 *   cache.set("greeting", "hello", SetOptions.ttl(Duration.ofMinutes(5)));
 *   String v = cache.get("greeting");
 * }
 * }</pre>
 *
 * <p>Every operation has a blocking form and an {@code ...Async} form returning a {@link
 * CompletableFuture}; keys and values are {@code byte[]}, with {@code String} (UTF-8) overloads.
 * Async futures complete on the client's I/O threads: do not block in their callbacks (use the
 * {@code thenXxxAsync} variants for slow work), and do not call blocking methods from them.
 *
 * <p>A missing key is not an error ({@code get} answers null, {@code delete} false). Failures are
 * {@link DistCacheException}s: typed by the node's status, {@link DistCacheTimeoutException} when
 * no reply came within the request timeout, {@link DistCacheConnectionException} when the node is
 * unreachable or the connection dropped with the request in flight (the next request reconnects).
 * Those two, and a node that is busy (BUSY) or whose slot is moving (TRY_AGAIN), are {@link
 * DistCacheUnavailableException}s, the retryable type: the client retries them under its {@link
 * RetryPolicy} (on by default) before they reach the caller, idempotent requests always and the
 * others only when nothing was applied. A retried request may be applied after a later request
 * the caller sent without waiting for the first one's outcome.
 *
 * <p>"No expiry" has one convention: {@link #NO_EXPIRY} (-1) where a number is answered ({@link
 * #ttl}, {@link #expireTime}, {@link CacheEntry#expireAtMillis()}), and a null {@code Duration}
 * where a time to live is passed.
 *
 * <p>Values are bytes or UTF-8 strings; {@link #withCodec(Codec)} gives a typed view through any
 * {@link Codec}. {@link DistCacheListener}s hear of membership and connection changes; with
 * Micrometer on the classpath the client records metrics ({@link Builder#meterRegistry}).
 *
 * <p>Smart routing (on by default): the client asks a node for the cluster's members and builds
 * the same slot table the nodes use (a key's Redis Cluster slot, each slot's owner from the
 * consistent-hash ring, with the placement epoch that orders tables), and sends each single-key
 * request straight to the key's owner, saving the forwarding hop. It renews its view periodically
 * ({@link Builder#topologyRefreshInterval}) and at once when a node with a newer placement says
 * it is not the owner, never goes back to an older view, and falls back to any node (which
 * forwards) while the view is stale or an owner is unreachable. A node without a cluster layer
 * leaves the client in plain mode: every request goes to the first configured address that
 * accepts a connection; any node of a cluster serves any key. With a view, multi-key operations
 * are split by owner (except {@link #setAllIfAbsent}, which goes whole to one node; in plain mode
 * that node splits them), and {@link #size}, {@link #flush} and {@link #scan} cover every
 * key-owning member. {@link #stats} and {@link #randomKey} answer for one node.
 */
public final class DistCacheClient implements AutoCloseable {
  /** "No expiry", wherever a number says it: {@link #ttl}, {@link #expireTime}, {@link CacheEntry#expireAtMillis()}. */
  public static final long NO_EXPIRY = -1;
  /** {@link #ttl} and {@link #expireTime} answer this for a missing key. */
  public static final long KEY_MISSING = -2;

  private final EventLoopGroup group;
  /** The configured addresses' pools, in the configured order. */
  private final List<NodePool> seeds;
  /** The configured addresses. */
  private final Set<Address> seedAddresses;
  /** Every pool by address: the seeds, and the members met through the cluster view. */
  private final ConcurrentHashMap<Address, NodePool> pools = new ConcurrentHashMap<>();
  private final int maxFrameBytes;
  private final int connectionsPerNode;
  /** Sent in an AUTH frame on every new connection when the password is set. */
  private final String user;
  private final String password;
  /** Null: plain TCP. */
  private final io.netty.handler.ssl.SslContext tls;
  private final int connectTimeoutMillis;
  private final long requestTimeoutMillis;
  /** Null when smart routing is off. */
  private final ClusterRouting routing;
  private final ScheduledFuture<?> refresher;
  private final RetryPolicy retryPolicy;
  private final ClientMetrics metrics;
  private final Listeners listeners;
  /** The key-owning members last announced to the listeners, by id. */
  private Map<String, ClusterMember> announced = Map.of();
  /** The node that last accepted a connection; "any node" starts there. */
  private volatile NodePool preferred;
  private volatile boolean closed;

  /** Null: no near cache (the default). */
  private final NearCache nearCache;

  private DistCacheClient(Builder b) {
    this.nearCache = b.nearCacheEntries > 0 ? new NearCache(b.nearCacheEntries) : null;
    this.maxFrameBytes = b.maxFrameBytes;
    this.user = b.user;
    this.tls = b.tls;
    this.password = b.password;
    this.connectionsPerNode = b.connectionsPerNode;
    this.connectTimeoutMillis = (int) b.connectTimeout.toMillis();
    this.requestTimeoutMillis = b.requestTimeout.toMillis();
    this.group = EventLoops.nio(b.ioThreads, "distcache-client");
    this.retryPolicy = b.retryPolicy;
    this.listeners = new Listeners(b.listeners);
    this.metrics = ClientMetrics.create(b.meterRegistry, b.metrics);
    List<NodePool> seedPools = new ArrayList<>();
    for (InetSocketAddress address : b.addresses) {
      Address key = new Address(address.getHostString(), address.getPort());
      seedPools.add(pools.computeIfAbsent(key, this::newPool));
    }
    this.seeds = List.copyOf(seedPools);
    this.seedAddresses = Set.copyOf(pools.keySet());
    this.preferred = seeds.get(0);
    if (b.smartRouting) {
      long interval = b.refreshInterval.toNanos();
      boolean overTls = b.tls != null; // then members are dialled at their TLS ports (Topology)
      this.routing = new ClusterRouting(() -> executeOnAnyNode(Calls.clusterMembers(overTls)), this::retainPools,
          Math.min(interval, MIN_REFRESH_GAP_NANOS), interval, group);
      routing.start();
      this.refresher = group.next().scheduleWithFixedDelay(routing::refresh, interval, interval, TimeUnit.NANOSECONDS);
    } else {
      this.routing = null;
      this.refresher = null;
    }
  }

  /** A cluster scan cursor: the member's position above this bit, the member's own cursor below. */
  private static final int SCAN_MEMBER_SHIFT = 48;
  private static final long SCAN_NODE_CURSOR_MASK = (1L << SCAN_MEMBER_SHIFT) - 1;

  /** Hints (NOT_OWNER, a refused owner) renew the view at most this often. */
  private static final long MIN_REFRESH_GAP_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private NodePool newPool(Address address) {
    return new NodePool(InetSocketAddress.createUnresolved(address.host(), address.port()), group,
        connectionsPerNode, connectTimeoutMillis, requestTimeoutMillis, maxFrameBytes, listeners)
        .withCredentials(user, password).withTls(tls).withNearCache(nearCache);
  }

  /**
   * A builder of a client.
   *
   * @return this builder
   */
  public static Builder builder() {
    return new Builder();
  }

  // ---- PING ----

  /**
   * Checks that a node answers.
   *
   */
  public void ping() {
    await(pingAsync());
  }

  /**
   * Checks that a node answers. Asynchronous: the future completes on an I/O thread.
   *
   * @return a future completed when done
   */
  public CompletableFuture<Void> pingAsync() {
    return execute(Calls.ping(null)).thenApply(echo -> null);
  }

  /**
   * Sends a payload and returns the node's echo of it.
   *
   * @param payload bytes the node echoes back
   * @return the echoed payload
   */
  public byte[] ping(byte[] payload) {
    return await(execute(Calls.ping(payload)));
  }

  // ---- GET ----

  /**
   * The value, or null when the key is absent.
   *
   * @param key the key
   * @return the value, or null when the key is missing
   */
  public byte[] get(byte[] key) {
    return await(getAsync(key));
  }

  /**
   * The value of {@code key}.
   *
   * @param key the key (UTF-8)
   * @return the value, or null when the key is missing
   */
  public String get(String key) {
    return text(get(utf8(key)));
  }

  /**
   * The value of {@code key}. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @return a future of the value, or null when the key is missing
   */
  public CompletableFuture<byte[]> getAsync(byte[] key) {
    NearCache nc = nearCache;
    if (nc == null) {
      return execute(Calls.get(key));
    }
    byte[] hit = nc.get(key);
    if (hit != null) {
      return CompletableFuture.completedFuture(hit == NearCache.ABSENT_VALUE ? null : hit);
    }
    NearCache.Reservation r = nc.reserve(key);
    // The caller sees the value only after the near cache took it in (fill, or drop a copy it shows
    // to be older), so its next get() cannot go back to an older value.
    return execute(Calls.get(key)).whenComplete((value, error) -> {
      if (error != null) {
        nc.release(key, r);
      } else if (r != null) {
        nc.fill(key, r, value);
      } else {
        nc.seen(key, value);
      }
    });
  }

  /**
   * The value of {@code key}. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @return a future of the value, or null when the key is missing
   */
  public CompletableFuture<String> getAsync(String key) {
    return getAsync(utf8(key)).thenApply(DistCacheClient::text);
  }

  /**
   * The value with its version and expiry, or null when the key is absent.
   *
   * @param key the key
   * @return the entry, or null when the key is missing
   */
  public CacheEntry getEntry(byte[] key) {
    return await(getEntryAsync(key));
  }

  /**
   * The value of {@code key} with its version and expiry.
   *
   * @param key the key (UTF-8)
   * @return the entry, or null when the key is missing
   */
  public CacheEntry getEntry(String key) {
    return getEntry(utf8(key));
  }

  /**
   * The value of {@code key} with its version and expiry. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @return a future of the entry, or null when the key is missing
   */
  public CompletableFuture<CacheEntry> getEntryAsync(byte[] key) {
    return execute(Calls.getEntry(key));
  }

  /**
   * The value of {@code key} with its version and expiry. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @return a future of the entry, or null when the key is missing
   */
  public CompletableFuture<CacheEntry> getEntryAsync(String key) {
    return getEntryAsync(utf8(key));
  }

  // ---- SET ----

  /**
   * Stores the value without expiry (clearing any previous expiry).
   *
   * @param key the key
   * @param value the value
   */
  public void set(byte[] key, byte[] value) {
    set(key, value, SetOptions.none());
  }

  /**
   * Stores {@code value} under {@code key}.
   *
   * @param key the key (UTF-8)
   * @param value the value (UTF-8)
   */
  public void set(String key, String value) {
    set(utf8(key), utf8(value));
  }

  /**
   * Stores the value, expiring {@code ttl} after the node receives it.
   *
   * @param key the key
   * @param value the value
   * @param ttl time to live, positive
   */
  public void set(byte[] key, byte[] value, Duration ttl) {
    set(key, value, SetOptions.ttl(ttl));
  }

  /**
   * Stores {@code value} under {@code key}.
   *
   * @param key the key (UTF-8)
   * @param value the value (UTF-8)
   * @param ttl time to live, positive
   */
  public void set(String key, String value, Duration ttl) {
    set(utf8(key), utf8(value), ttl);
  }

  /**
   * Stores the value as the options say; false when their condition (ifAbsent, ifPresent) failed.
   *
   * @param key the key
   * @param value the value
   * @param options expiry and condition
   * @return true when written (false only when a condition in {@code options} was not met)
   */
  public boolean set(byte[] key, byte[] value, SetOptions options) {
    return await(setAsync(key, value, options));
  }

  /**
   * Stores {@code value} under {@code key}.
   *
   * @param key the key (UTF-8)
   * @param value the value (UTF-8)
   * @param options expiry and condition
   * @return true when written (false only when a condition in {@code options} was not met)
   */
  public boolean set(String key, String value, SetOptions options) {
    return set(utf8(key), utf8(value), options);
  }

  /**
   * Stores {@code value} under {@code key}. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @param value the value
   * @param options expiry and condition
   * @return a future of true when written (false only when a condition in {@code options} was not met)
   */
  public CompletableFuture<Boolean> setAsync(byte[] key, byte[] value, SetOptions options) {
    return execute(Calls.set(key, value, Objects.requireNonNull(options, "options")));
  }

  /**
   * Stores {@code value} under {@code key}. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @param value the value (UTF-8)
   * @param options expiry and condition
   * @return a future of true when written (false only when a condition in {@code options} was not met)
   */
  public CompletableFuture<Boolean> setAsync(String key, String value, SetOptions options) {
    return setAsync(utf8(key), utf8(value), options);
  }

  /**
   * Stores {@code value} under {@code key}. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @param value the value
   * @return a future of true when written (false only when a condition in {@code options} was not met)
   */
  public CompletableFuture<Boolean> setAsync(byte[] key, byte[] value) {
    return setAsync(key, value, SetOptions.none());
  }

  /**
   * Stores {@code value} under {@code key}. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @param value the value (UTF-8)
   * @return a future of true when written (false only when a condition in {@code options} was not met)
   */
  public CompletableFuture<Boolean> setAsync(String key, String value) {
    return setAsync(utf8(key), utf8(value));
  }

  /**
   * Redis SETNX: true when the key was absent and is now set.
   *
   * @param key the key
   * @param value the value
   * @return true when written, false when the key existed
   */
  public boolean setIfAbsent(byte[] key, byte[] value) {
    return set(key, value, SetOptions.none().ifAbsent());
  }

  /**
   * Stores {@code value} under {@code key} only when the key is missing (Redis SETNX), without expiry.
   *
   * @param key the key (UTF-8)
   * @param value the value (UTF-8)
   * @return true when written, false when the key existed
   */
  public boolean setIfAbsent(String key, String value) {
    return setIfAbsent(utf8(key), utf8(value));
  }

  // ---- GET_AND_SET, GET_AND_DELETE ----

  /**
   * Stores the value without expiry and returns the previous one, or null.
   *
   * @param key the key
   * @param value the value
   * @return the previous value, or null when there was none
   */
  public byte[] getAndSet(byte[] key, byte[] value) {
    return await(getAndSetAsync(key, value));
  }

  /**
   * Stores {@code value} under {@code key} and returns the previous value (Redis GETSET / SET GET).
   *
   * @param key the key (UTF-8)
   * @param value the value (UTF-8)
   * @return the previous value, or null when there was none
   */
  public String getAndSet(String key, String value) {
    return text(getAndSet(utf8(key), utf8(value)));
  }

  /**
   * Stores the value expiring after {@code ttl} and returns the previous one, or null.
   *
   * @param key the key
   * @param value the value
   * @param ttl time to live, positive
   * @return the previous value, or null when there was none
   */
  public byte[] getAndSet(byte[] key, byte[] value, Duration ttl) {
    return await(getAndSetAsync(key, value, ttl));
  }

  /**
   * Stores {@code value} under {@code key} and returns the previous value (Redis GETSET / SET GET).
   *
   * @param key the key (UTF-8)
   * @param value the value (UTF-8)
   * @param ttl time to live, positive
   * @return the previous value, or null when there was none
   */
  public String getAndSet(String key, String value, Duration ttl) {
    return text(getAndSet(utf8(key), utf8(value), ttl));
  }

  /**
   * Stores {@code value} under {@code key} and returns the previous value (Redis GETSET / SET GET). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @param value the value
   * @return a future of the previous value, or null when there was none
   */
  public CompletableFuture<byte[]> getAndSetAsync(byte[] key, byte[] value) {
    return execute(Calls.getAndSet(key, value, 0));
  }

  /**
   * Stores {@code value} under {@code key} and returns the previous value (Redis GETSET / SET GET). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @param value the value
   * @param ttl time to live, positive
   * @return a future of the previous value, or null when there was none
   */
  public CompletableFuture<byte[]> getAndSetAsync(byte[] key, byte[] value, Duration ttl) {
    return execute(Calls.getAndSet(key, value, Durations.positiveMillis("ttl", ttl)));
  }

  /**
   * Stores {@code value} under {@code key} and returns the previous value (Redis GETSET / SET GET). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @param value the value (UTF-8)
   * @return a future of the previous value, or null when there was none
   */
  public CompletableFuture<String> getAndSetAsync(String key, String value) {
    return getAndSetAsync(utf8(key), utf8(value)).thenApply(DistCacheClient::text);
  }

  /**
   * Removes the key and returns its value, or null when it was absent.
   *
   * @param key the key
   * @return the value, or null when the key was missing
   */
  public byte[] getAndDelete(byte[] key) {
    return await(getAndDeleteAsync(key));
  }

  /**
   * Removes {@code key} and returns its value (Redis GETDEL).
   *
   * @param key the key (UTF-8)
   * @return the value, or null when the key was missing
   */
  public String getAndDelete(String key) {
    return text(getAndDelete(utf8(key)));
  }

  /**
   * Removes {@code key} and returns its value (Redis GETDEL). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @return a future of the value, or null when the key was missing
   */
  public CompletableFuture<byte[]> getAndDeleteAsync(byte[] key) {
    return execute(Calls.getAndDelete(key));
  }

  /**
   * Removes {@code key} and returns its value (Redis GETDEL). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @return a future of the value, or null when the key was missing
   */
  public CompletableFuture<String> getAndDeleteAsync(String key) {
    return getAndDeleteAsync(utf8(key)).thenApply(DistCacheClient::text);
  }

  // ---- DELETE, EXISTS ----

  /**
   * True when the key existed.
   *
   * @param key the key
   * @return true when the key existed
   */
  public boolean delete(byte[] key) {
    return await(deleteAsync(key));
  }

  /**
   * Removes {@code key}.
   *
   * @param key the key (UTF-8)
   * @return true when the key existed
   */
  public boolean delete(String key) {
    return delete(utf8(key));
  }

  /**
   * Removes {@code key}. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @return a future of true when the key existed
   */
  public CompletableFuture<Boolean> deleteAsync(byte[] key) {
    return execute(Calls.delete(key));
  }

  /**
   * Removes {@code key}. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @return a future of true when the key existed
   */
  public CompletableFuture<Boolean> deleteAsync(String key) {
    return deleteAsync(utf8(key));
  }

  /**
   * Whether {@code key} exists.
   *
   * @param key the key
   * @return true when the key exists
   */
  public boolean exists(byte[] key) {
    return await(existsAsync(key));
  }

  /**
   * Whether {@code key} exists.
   *
   * @param key the key (UTF-8)
   * @return true when the key exists
   */
  public boolean exists(String key) {
    return exists(utf8(key));
  }

  /**
   * Whether {@code key} exists. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @return a future of true when the key exists
   */
  public CompletableFuture<Boolean> existsAsync(byte[] key) {
    return execute(Calls.exists(key));
  }

  /**
   * Whether {@code key} exists. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @return a future of true when the key exists
   */
  public CompletableFuture<Boolean> existsAsync(String key) {
    return existsAsync(utf8(key));
  }

  // ---- EXPIRE, PERSIST, TTL ----

  /**
   * Sets the key to expire after {@code ttl}; false when the key is absent.
   *
   * @param key the key
   * @param ttl time to live, positive
   * @return true when the expiry was set (the key exists and the condition held)
   */
  public boolean expire(byte[] key, Duration ttl) {
    return expire(key, ttl, ExpireCondition.ALWAYS);
  }

  /**
   * Sets the expiry of {@code key} to {@code ttl} from now.
   *
   * @param key the key (UTF-8)
   * @param ttl time to live, positive
   * @return true when the expiry was set (the key exists and the condition held)
   */
  public boolean expire(String key, Duration ttl) {
    return expire(utf8(key), ttl);
  }

  /**
   * As {@link #expire(byte[], Duration)} when {@code condition} holds; false when absent or it does not.
   *
   * @param key the key
   * @param ttl time to live, positive
   * @param condition when to apply it
   * @return true when the expiry was set (the key exists and the condition held)
   */
  public boolean expire(byte[] key, Duration ttl, ExpireCondition condition) {
    return await(expireAsync(key, ttl, condition));
  }

  /**
   * Sets the expiry of {@code key} to {@code ttl} from now.
   *
   * @param key the key (UTF-8)
   * @param ttl time to live, positive
   * @param condition when to apply it
   * @return true when the expiry was set (the key exists and the condition held)
   */
  public boolean expire(String key, Duration ttl, ExpireCondition condition) {
    return expire(utf8(key), ttl, condition);
  }

  /**
   * Sets the expiry of {@code key} to {@code ttl} from now. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @param ttl time to live, positive
   * @param condition when to apply it
   * @return a future of true when the expiry was set (the key exists and the condition held)
   */
  public CompletableFuture<Boolean> expireAsync(byte[] key, Duration ttl, ExpireCondition condition) {
    return execute(Calls.expire(key, Durations.positiveMillis("ttl", ttl), false, condition));
  }

  /**
   * Sets the expiry of {@code key} to {@code ttl} from now. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @param ttl time to live, positive
   * @param condition when to apply it
   * @return a future of true when the expiry was set (the key exists and the condition held)
   */
  public CompletableFuture<Boolean> expireAsync(String key, Duration ttl, ExpireCondition condition) {
    return expireAsync(utf8(key), ttl, condition);
  }

  /**
   * Sets the key to expire at {@code when} (a past time deletes it); false when absent or the condition fails.
   *
   * @param key the key
   * @param when the absolute expiry
   * @param condition when to apply it
   * @return true when the expiry was set (the key exists and the condition held)
   */
  public boolean expireAt(byte[] key, Instant when, ExpireCondition condition) {
    return await(expireAtAsync(key, when, condition));
  }

  /**
   * Sets the expiry of {@code key} to an absolute time.
   *
   * @param key the key (UTF-8)
   * @param when the absolute expiry
   * @param condition when to apply it
   * @return true when the expiry was set (the key exists and the condition held)
   */
  public boolean expireAt(String key, Instant when, ExpireCondition condition) {
    return expireAt(utf8(key), when, condition);
  }

  /**
   * Sets the expiry of {@code key} to an absolute time. Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @param when the absolute expiry
   * @param condition when to apply it
   * @return a future of true when the expiry was set (the key exists and the condition held)
   */
  public CompletableFuture<Boolean> expireAtAsync(byte[] key, Instant when, ExpireCondition condition) {
    long millis = Objects.requireNonNull(when, "when").toEpochMilli();
    if (millis <= 0) {
      throw new IllegalArgumentException("expiry must be after the epoch: " + when);
    }
    return execute(Calls.expire(key, millis, true, condition));
  }

  /**
   * Removes the key's expiry; false when the key is absent or had none.
   *
   * @param key the key
   * @return true when an expiry was removed
   */
  public boolean persist(byte[] key) {
    return await(persistAsync(key));
  }

  /**
   * Removes the expiry of {@code key} (Redis PERSIST).
   *
   * @param key the key (UTF-8)
   * @return true when an expiry was removed
   */
  public boolean persist(String key) {
    return persist(utf8(key));
  }

  /**
   * Removes the expiry of {@code key} (Redis PERSIST). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @return a future of true when an expiry was removed
   */
  public CompletableFuture<Boolean> persistAsync(byte[] key) {
    return execute(Calls.persist(key));
  }

  /**
   * Removes the expiry of {@code key} (Redis PERSIST). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @return a future of true when an expiry was removed
   */
  public CompletableFuture<Boolean> persistAsync(String key) {
    return persistAsync(utf8(key));
  }

  /**
   * Remaining milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING} (Redis PTTL).
   *
   * @param key the key
   * @return the remaining milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING}
   */
  public long ttl(byte[] key) {
    return await(ttlAsync(key));
  }

  /**
   * Remaining milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING} (Redis PTTL).
   *
   * @param key the key (UTF-8)
   * @return the remaining milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING}
   */
  public long ttl(String key) {
    return ttl(utf8(key));
  }

  /**
   * Remaining milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING} (Redis PTTL). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @return a future of the remaining milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING}
   */
  public CompletableFuture<Long> ttlAsync(byte[] key) {
    return execute(Calls.ttl(key, 0));
  }

  /**
   * Remaining milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING} (Redis PTTL). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @return a future of the remaining milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING}
   */
  public CompletableFuture<Long> ttlAsync(String key) {
    return ttlAsync(utf8(key));
  }

  /**
   * Absolute expiry in Unix milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING} (Redis PEXPIRETIME).
   *
   * @param key the key
   * @return the expiry in Unix milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING}
   */
  public long expireTime(byte[] key) {
    return await(expireTimeAsync(key));
  }

  /**
   * The absolute expiry of {@code key} in Unix milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING} (Redis PEXPIRETIME).
   *
   * @param key the key (UTF-8)
   * @return the expiry in Unix milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING}
   */
  public long expireTime(String key) {
    return expireTime(utf8(key));
  }

  /**
   * The absolute expiry of {@code key} in Unix milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING} (Redis PEXPIRETIME). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @return a future of the expiry in Unix milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING}
   */
  public CompletableFuture<Long> expireTimeAsync(byte[] key) {
    return execute(Calls.ttl(key, 1));
  }

  /**
   * The absolute expiry of {@code key} in Unix milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING} (Redis PEXPIRETIME). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @return a future of the expiry in Unix milliseconds, {@link #NO_EXPIRY} or {@link #KEY_MISSING}
   */
  public CompletableFuture<Long> expireTimeAsync(String key) {
    return expireTimeAsync(utf8(key));
  }

  // ---- counters ----

  /**
   * Adds {@code delta} to a decimal integer value (absent counts as 0) and returns the result.
   *
   * @throws NotANumberException when the value is not a 64-bit decimal integer
   * @throws ValueOverflowException when the result would not fit in 64 bits
   *
   * @param key the key
   * @param delta the amount
   * @return the new value
   */
  public long incrementBy(byte[] key, long delta) {
    return await(incrementByAsync(key, delta));
  }

  /**
   * Adds {@code delta} to the integer stored at {@code key} (0 when missing) (Redis INCRBY).
   *
   * @param key the key (UTF-8)
   * @param delta the amount
   * @return the new value
   */
  public long incrementBy(String key, long delta) {
    return incrementBy(utf8(key), delta);
  }

  /**
   * Adds {@code delta} to the integer stored at {@code key} (0 when missing) (Redis INCRBY). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @param delta the amount
   * @return a future of the new value
   */
  public CompletableFuture<Long> incrementByAsync(byte[] key, long delta) {
    return execute(Calls.incrementBy(key, delta));
  }

  /**
   * Adds {@code delta} to the integer stored at {@code key} (0 when missing) (Redis INCRBY). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @param delta the amount
   * @return a future of the new value
   */
  public CompletableFuture<Long> incrementByAsync(String key, long delta) {
    return incrementByAsync(utf8(key), delta);
  }

  /**
   * Adds 1 to the integer stored at {@code key} (0 when missing) (Redis INCR).
   *
   * @param key the key
   * @return the new value
   */
  public long increment(byte[] key) {
    return incrementBy(key, 1);
  }

  /**
   * Adds 1 to the integer stored at {@code key} (0 when missing) (Redis INCR).
   *
   * @param key the key (UTF-8)
   * @return the new value
   */
  public long increment(String key) {
    return incrementBy(key, 1);
  }

  /**
   * Subtracts {@code delta} from the integer stored at {@code key} (0 when missing) (Redis DECRBY).
   *
   * @param key the key
   * @param delta the amount
   * @return the new value
   */
  public long decrementBy(byte[] key, long delta) {
    return await(decrementByAsync(key, delta));
  }

  /**
   * Subtracts {@code delta} from the integer stored at {@code key} (0 when missing) (Redis DECRBY).
   *
   * @param key the key (UTF-8)
   * @param delta the amount
   * @return the new value
   */
  public long decrementBy(String key, long delta) {
    return decrementBy(utf8(key), delta);
  }

  /**
   * Subtracts {@code delta} from the integer stored at {@code key} (0 when missing) (Redis DECRBY). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @param delta the amount
   * @return a future of the new value
   */
  public CompletableFuture<Long> decrementByAsync(byte[] key, long delta) {
    if (delta == Long.MIN_VALUE) {
      throw new IllegalArgumentException("delta cannot be negated: " + delta);
    }
    return incrementByAsync(key, -delta);
  }

  /**
   * Subtracts {@code delta} from the integer stored at {@code key} (0 when missing) (Redis DECRBY). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @param delta the amount
   * @return a future of the new value
   */
  public CompletableFuture<Long> decrementByAsync(String key, long delta) {
    return decrementByAsync(utf8(key), delta);
  }

  /**
   * Subtracts 1 from the integer stored at {@code key} (0 when missing) (Redis DECR).
   *
   * @param key the key
   * @return the new value
   */
  public long decrement(byte[] key) {
    return decrementBy(key, 1);
  }

  /**
   * Subtracts 1 from the integer stored at {@code key} (0 when missing) (Redis DECR).
   *
   * @param key the key (UTF-8)
   * @return the new value
   */
  public long decrement(String key) {
    return decrementBy(key, 1);
  }

  /**
   * Adds {@code delta} to a decimal number value (absent counts as 0) and returns the result.
   *
   * @param key the key
   * @param delta the amount
   * @return the new value
   */
  public double incrementByFloat(byte[] key, double delta) {
    return await(incrementByFloatAsync(key, delta));
  }

  /**
   * Adds {@code delta} to the number stored at {@code key} (0 when missing) (Redis INCRBYFLOAT).
   *
   * @param key the key (UTF-8)
   * @param delta the amount
   * @return the new value
   */
  public double incrementByFloat(String key, double delta) {
    return incrementByFloat(utf8(key), delta);
  }

  /**
   * Adds {@code delta} to the number stored at {@code key} (0 when missing) (Redis INCRBYFLOAT). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @param delta the amount
   * @return a future of the new value
   */
  public CompletableFuture<Double> incrementByFloatAsync(byte[] key, double delta) {
    return execute(Calls.incrementByFloat(key, delta));
  }

  /**
   * Adds {@code delta} to the number stored at {@code key} (0 when missing) (Redis INCRBYFLOAT). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @param delta the amount
   * @return a future of the new value
   */
  public CompletableFuture<Double> incrementByFloatAsync(String key, double delta) {
    return incrementByFloatAsync(utf8(key), delta);
  }

  // ---- strings ----

  /**
   * Appends to the value (creating it when absent); returns the new length.
   *
   * @param key the key
   * @param suffix the bytes to append
   * @return the length of the value after appending
   */
  public long append(byte[] key, byte[] suffix) {
    return await(appendAsync(key, suffix));
  }

  /**
   * Appends {@code suffix} to the value of {@code key}, creating it when missing (Redis APPEND).
   *
   * @param key the key (UTF-8)
   * @param suffix the bytes to append
   * @return the length of the value after appending
   */
  public long append(String key, String suffix) {
    return append(utf8(key), utf8(suffix));
  }

  /**
   * Appends {@code suffix} to the value of {@code key}, creating it when missing (Redis APPEND). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @param suffix the bytes to append
   * @return a future of the length of the value after appending
   */
  public CompletableFuture<Long> appendAsync(byte[] key, byte[] suffix) {
    return execute(Calls.append(key, suffix));
  }

  /**
   * Appends {@code suffix} to the value of {@code key}, creating it when missing (Redis APPEND). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @param suffix the bytes to append
   * @return a future of the length of the value after appending
   */
  public CompletableFuture<Long> appendAsync(String key, String suffix) {
    return appendAsync(utf8(key), utf8(suffix));
  }

  /**
   * Value length in bytes, 0 when absent.
   *
   * @param key the key
   * @return the length in bytes
   */
  public long strlen(byte[] key) {
    return await(strlenAsync(key));
  }

  /**
   * The length of the value of {@code key} in bytes, 0 when missing (Redis STRLEN).
   *
   * @param key the key (UTF-8)
   * @return the length in bytes
   */
  public long strlen(String key) {
    return strlen(utf8(key));
  }

  /**
   * The length of the value of {@code key} in bytes, 0 when missing (Redis STRLEN). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @return a future of the length in bytes
   */
  public CompletableFuture<Long> strlenAsync(byte[] key) {
    return execute(Calls.strlen(key));
  }

  /**
   * The length of the value of {@code key} in bytes, 0 when missing (Redis STRLEN). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key (UTF-8)
   * @return a future of the length in bytes
   */
  public CompletableFuture<Long> strlenAsync(String key) {
    return strlenAsync(utf8(key));
  }

  /**
   * Redis GETRANGE: bytes {@code start..end} inclusive, negative offsets from the end; empty when absent.
   *
   * @param key the key
   * @param start the first byte offset (negative: from the end)
   * @param end the last byte offset, inclusive (negative: from the end)
   * @return the bytes (empty when out of range or missing)
   */
  public byte[] getRange(byte[] key, long start, long end) {
    return await(getRangeAsync(key, start, end));
  }

  /**
   * {@link #getRange(byte[], long, long)} decoded as UTF-8; the offsets are byte offsets.
   *
   * @param key the key (UTF-8)
   * @param start the first byte offset (negative: from the end)
   * @param end the last byte offset, inclusive (negative: from the end)
   * @return the bytes (empty when out of range or missing)
   */
  public String getRange(String key, long start, long end) {
    return text(getRange(utf8(key), start, end));
  }

  /**
   * The bytes of the value of {@code key} from {@code start} to {@code end} inclusive (Redis GETRANGE). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @param start the first byte offset (negative: from the end)
   * @param end the last byte offset, inclusive (negative: from the end)
   * @return a future of the bytes (empty when out of range or missing)
   */
  public CompletableFuture<byte[]> getRangeAsync(byte[] key, long start, long end) {
    return execute(Calls.getRange(key, start, end));
  }

  /**
   * Redis SETRANGE: overwrites from {@code offset}, zero-padding a shorter value; returns the new length.
   *
   * @param key the key
   * @param offset the byte offset to write at, not negative
   * @param value the value
   * @return the length of the value after writing
   */
  public long setRange(byte[] key, long offset, byte[] value) {
    return await(setRangeAsync(key, offset, value));
  }

  /**
   * Overwrites the value of {@code key} from {@code offset} with {@code value}, zero-padding a shorter value (Redis SETRANGE).
   *
   * @param key the key (UTF-8)
   * @param offset the byte offset to write at, not negative
   * @param value the value (UTF-8)
   * @return the length of the value after writing
   */
  public long setRange(String key, long offset, String value) {
    return setRange(utf8(key), offset, utf8(value));
  }

  /**
   * Overwrites the value of {@code key} from {@code offset} with {@code value}, zero-padding a shorter value (Redis SETRANGE). Asynchronous: the future completes on an I/O thread.
   *
   * @param key the key
   * @param offset the byte offset to write at, not negative
   * @param value the value
   * @return a future of the length of the value after writing
   */
  public CompletableFuture<Long> setRangeAsync(byte[] key, long offset, byte[] value) {
    return execute(Calls.setRange(key, offset, value));
  }

  // ---- compare-and-set ----

  /**
   * Writes the value (without expiry) only when the entry's version is {@code expectedVersion}.
   *
   * @param key the key
   * @param expectedVersion the version the entry must have ({@link CacheEntry#version()})
   * @param value the value
   * @return what happened, with the version
   */
  public CasResult compareAndSet(byte[] key, long expectedVersion, byte[] value) {
    return await(compareAndSetAsync(key, expectedVersion, value, null));
  }

  /**
   * Writes {@code value} only when the entry still has {@code expectedVersion}.
   *
   * @param key the key (UTF-8)
   * @param expectedVersion the version the entry must have ({@link CacheEntry#version()})
   * @param value the value (UTF-8)
   * @return what happened, with the version
   */
  public CasResult compareAndSet(String key, long expectedVersion, String value) {
    return compareAndSet(utf8(key), expectedVersion, utf8(value));
  }

  /**
   * As {@link #compareAndSet(byte[], long, byte[])}, the new value expiring after {@code ttl}.
   *
   * @param key the key
   * @param expectedVersion the version the entry must have ({@link CacheEntry#version()})
   * @param value the value
   * @param ttl time to live, positive
   * @return what happened, with the version
   */
  public CasResult compareAndSet(byte[] key, long expectedVersion, byte[] value, Duration ttl) {
    return await(compareAndSetAsync(key, expectedVersion, value, Objects.requireNonNull(ttl, "ttl")));
  }

  /**
   * {@code ttl} null for no expiry.
   *
   * @param key the key
   * @param expectedVersion the version the entry must have ({@link CacheEntry#version()})
   * @param value the value
   * @param ttl time to live, positive
   * @return a future of what happened, with the version
   */
  public CompletableFuture<CasResult> compareAndSetAsync(byte[] key, long expectedVersion, byte[] value, Duration ttl) {
    long ttlMillis = ttl == null ? 0 : Durations.positiveMillis("ttl", ttl);
    return execute(Calls.compareAndSet(key, expectedVersion, value, ttlMillis));
  }

  // ---- many keys ----

  /**
   * Values in the order of {@code keys}, null where absent.
   *
   * @param keys the keys
   * @return the values, null where missing
   */
  public List<byte[]> getAll(List<byte[]> keys) {
    return await(getAllAsync(keys));
  }

  /**
   * The values of {@code keys}, in their order, null where a key is missing.
   *
   * @param keys the keys (UTF-8)
   * @return the values, null where missing
   */
  public List<String> getAll(String... keys) {
    List<byte[]> values = getAll(utf8(keys));
    List<String> out = new ArrayList<>(values.size());
    for (byte[] v : values) {
      out.add(text(v));
    }
    return out;
  }

  /**
   * The values of {@code keys}, in their order, null where a key is missing. Asynchronous: the future completes on an I/O thread.
   *
   * @param keys the keys
   * @return a future of the values, null where missing
   */
  public CompletableFuture<List<byte[]>> getAllAsync(List<byte[]> keys) {
    return retrying("MULTI_GET", true, () -> getAllOnce(keys));
  }

  private CompletableFuture<List<byte[]>> getAllOnce(List<byte[]> keys) {
    Map<Address, List<Integer>> parts = splitByOwner(keys);
    if (parts == null) {
      return executeOnce(Calls.getAll(keys));
    }
    List<CompletableFuture<List<byte[]>>> replies = new ArrayList<>(parts.size());
    parts.forEach((owner, indices) -> replies.add(executeAt(owner, Calls.getAll(pick(keys, indices)))));
    return CompletableFuture.allOf(replies.toArray(new CompletableFuture<?>[0])).thenApply(done -> {
      byte[][] merged = new byte[keys.size()][];
      int part = 0;
      for (List<Integer> indices : parts.values()) {
        List<byte[]> values = replies.get(part++).join();
        for (int i = 0; i < indices.size(); i++) {
          merged[indices.get(i)] = values.get(i);
        }
      }
      return Arrays.asList(merged);
    });
  }

  /**
   * Stores every pair ({@code keys.get(i)} → {@code values.get(i)}) without expiry.
   *
   * @param keys the keys
   * @param values the values, as many as the keys
   */
  public void setAll(List<byte[]> keys, List<byte[]> values) {
    await(setAllAsync(keys, values, null));
  }

  /**
   * Stores every pair ({@code keys.get(i)} → {@code values.get(i)}), each expiring after {@code ttl}.
   *
   * @param keys the keys
   * @param values the values, as many as the keys
   * @param ttl time to live of each, positive; null for no expiry
   */
  public void setAll(List<byte[]> keys, List<byte[]> values, Duration ttl) {
    await(setAllAsync(keys, values, ttl));
  }

  /**
   * Stores every entry without expiry.
   *
   * @param entries keys and values
   */
  public void setAll(Map<String, String> entries) {
    setAll(entries, null);
  }

  /**
   * Stores every entry, each expiring after {@code ttl} (null for none).
   *
   * @param entries keys and values
   * @param ttl time to live, positive
   */
  public void setAll(Map<String, String> entries, Duration ttl) {
    List<byte[]> keys = new ArrayList<>(entries.size());
    List<byte[]> values = new ArrayList<>(entries.size());
    entries.forEach((k, v) -> {
      keys.add(utf8(k));
      values.add(utf8(v));
    });
    await(setAllAsync(keys, values, ttl));
  }

  /**
   * {@code ttl} null for no expiry.
   *
   * @param keys the keys
   * @param values the values, as many as the keys
   * @param ttl time to live, positive
   * @return a future completed when done
   */
  public CompletableFuture<Void> setAllAsync(List<byte[]> keys, List<byte[]> values, Duration ttl) {
    if (ttl != null) {
      Durations.positiveMillis("ttl", ttl); // a bad argument throws here, not in the future
    }
    return retrying("MULTI_SET", true, () -> setAllOnce(keys, values, ttl));
  }

  private CompletableFuture<Void> setAllOnce(List<byte[]> keys, List<byte[]> values, Duration ttl) {
    long ttlMillis = ttl == null ? 0 : Durations.positiveMillis("ttl", ttl);
    Map<Address, List<Integer>> parts =
        keys != null && values != null && values.size() == keys.size() ? splitByOwner(keys) : null;
    if (parts == null) {
      return executeOnce(Calls.setAll(keys, values, ttlMillis));
    }
    List<CompletableFuture<Void>> replies = new ArrayList<>(parts.size());
    parts.forEach((owner, indices) ->
        replies.add(executeAt(owner, Calls.setAll(pick(keys, indices), pick(values, indices), ttlMillis))));
    return CompletableFuture.allOf(replies.toArray(new CompletableFuture<?>[0]));
  }

  /**
   * Redis MSETNX: stores every pair only if none of the keys exists; true when written.
   *
   * @param keys the keys
   * @param values the values, as many as the keys
   * @return true when written, false when any key existed
   */
  public boolean setAllIfAbsent(List<byte[]> keys, List<byte[]> values) {
    return await(setAllIfAbsentAsync(keys, values));
  }

  /**
   * Redis MSETNX: stores every pair only if none of the keys exists.
   *
   * @param entries keys and values
   * @return true when written, false when any key existed
   */
  public boolean setAllIfAbsent(Map<String, String> entries) {
    List<byte[]> keys = new ArrayList<>(entries.size());
    List<byte[]> values = new ArrayList<>(entries.size());
    entries.forEach((k, v) -> {
      keys.add(utf8(k));
      values.add(utf8(v));
    });
    return setAllIfAbsent(keys, values);
  }

  /**
   * Redis MSETNX: stores every pair only if none of the keys exists. Asynchronous: the future completes on an I/O thread.
   *
   * @param keys the keys
   * @param values the values, as many as the keys
   * @return a future of true when written, false when any key existed
   */
  public CompletableFuture<Boolean> setAllIfAbsentAsync(List<byte[]> keys, List<byte[]> values) {
    return execute(Calls.setAllIfAbsent(keys, values));
  }

  /**
   * Number of the keys that existed and were removed.
   *
   * @param keys the keys
   * @return the number of keys that existed and were removed
   */
  public long deleteAll(List<byte[]> keys) {
    return await(deleteAllAsync(keys));
  }

  /**
   * Removes every key.
   *
   * @param keys the keys (UTF-8)
   * @return the number of keys that existed and were removed
   */
  public long deleteAll(String... keys) {
    return deleteAll(utf8(keys));
  }

  /**
   * Removes every key. Asynchronous: the future completes on an I/O thread.
   *
   * @param keys the keys
   * @return a future of the number of keys that existed and were removed
   */
  public CompletableFuture<Long> deleteAllAsync(List<byte[]> keys) {
    Map<Address, List<Integer>> parts = splitByOwner(keys);
    // Split, a part may fail after another was applied: not retried as a whole (the count would be
    // wrong); one request, it is retried when it certainly did nothing.
    return parts == null ? execute(Calls.deleteAll(keys)) : sum(parts, indices -> Calls.deleteAll(pick(keys, indices)));
  }


  /**
   * Number of the keys that exist (Redis EXISTS with many keys; a repeated key counts each time).
   *
   * @param keys the keys
   * @return the number of keys that exist
   */
  public long existsCount(List<byte[]> keys) {
    return await(existsCountAsync(keys));
  }

  /**
   * How many of the keys exist (Redis EXISTS with many keys; a repeated key counts each time).
   *
   * @param keys the keys (UTF-8)
   * @return the number of keys that exist
   */
  public long existsCount(String... keys) {
    return existsCount(utf8(keys));
  }

  /**
   * How many of the keys exist (Redis EXISTS with many keys; a repeated key counts each time). Asynchronous: the future completes on an I/O thread.
   *
   * @param keys the keys
   * @return a future of the number of keys that exist
   */
  public CompletableFuture<Long> existsCountAsync(List<byte[]> keys) {
    return retrying("MULTI_EXISTS", true, () -> existsCountOnce(keys));
  }

  private CompletableFuture<Long> existsCountOnce(List<byte[]> keys) {
    Map<Address, List<Integer>> parts = splitByOwner(keys);
    return parts == null ? executeOnce(Calls.existsCount(keys)) : sum(parts, indices -> Calls.existsCount(pick(keys, indices)));
  }

  // ---- whole cluster ----

  /**
   * One step of a cursor scan over every key: start at 0, stop when the next cursor is 0. A step
   * may return no keys and a non-zero cursor. With a cluster view the scan walks each key-owning
   * member in turn (in member id order), the member's position in the top bits of the cursor and
   * its own cursor in the low 48; in plain mode it walks the one node requests go to. Every key
   * present for the whole scan is returned at least once while the members do not change; a scan
   * that spans a change of members may miss or repeat keys (slots move with it).
   *
   * @param cursor 0 to start, then the previous step's {@link ScanResult#nextCursor()}
   * @param count a hint of how many keys to visit per member (0: 10)
   * @return the keys of this step and the next cursor, 0 when the scan is done
   */
  public ScanResult scan(long cursor, int count) {
    return await(scanAsync(cursor, count));
  }

  /**
   * One step of a cursor scan over the keys matching {@code match}, a Redis glob pattern ({@code *}
   * any run, {@code ?} one byte, {@code [a-z]}/{@code [^abc]} a class, {@code \\x} the byte x), as
   * Redis's {@code SCAN cursor MATCH pattern COUNT count}. Like Redis, the pattern applies to the
   * keys a step visits, so a step may return no keys and a non-zero cursor; the keys are filtered
   * on the client (the binary protocol's SCAN has no pattern), so every visited key crosses the
   * network. Cursors are those of {@link #scan(long, int)}.
   *
   * @param cursor 0 to start, then the previous step's {@link ScanResult#nextCursor()}
   * @param count a hint of how many keys to visit per member (0: 10)
   * @param match the pattern; "*" for every key
   * @return the matching keys of this step and the next cursor, 0 when the scan is done
   */
  public ScanResult scan(long cursor, int count, String match) {
    return await(scanAsync(cursor, count, match));
  }

  /**
   * {@link #scan(long, int, String)}, asynchronously.
   *
   * @param cursor 0 to start, then the previous step's {@link ScanResult#nextCursor()}
   * @param count a hint of how many keys to visit per member (0: 10)
   * @param match the pattern; "*" for every key
   * @return a future of the matching keys of this step and the next cursor
   */
  public CompletableFuture<ScanResult> scanAsync(long cursor, int count, String match) {
    GlobPattern pattern = GlobPattern.of(Objects.requireNonNull(match, "match"));
    CompletableFuture<ScanResult> step = scanAsync(cursor, count);
    if (pattern.matchesEverything()) {
      return step;
    }
    return step.thenApply(r -> {
      List<byte[]> kept = new ArrayList<>(r.keys().size());
      for (byte[] k : r.keys()) {
        if (pattern.matches(k)) {
          kept.add(k);
        }
      }
      return new ScanResult(r.nextCursor(), List.copyOf(kept));
    });
  }

  /**
   * A typed view of this cache: {@code String} keys, values stored through {@code codec}.
   *
   * @param codec turns values into bytes and back
   * @param <V> the value type
   * @return the view; it shares this client and ends with it
   */
  public <V> TypedCache<V> withCodec(Codec<V> codec) {
    return new TypedCache<>(this, codec);
  }

  /**
   * One step of a cursor scan over every key. Asynchronous: the future completes on an I/O thread.
   *
   * @param cursor 0 to start, then the previous step's {@link ScanResult#nextCursor()}
   * @param count a hint of how many keys to visit per member (0: 10)
   * @return a future of the keys of this step and the next cursor, 0 when the scan is done
   */
  public CompletableFuture<ScanResult> scanAsync(long cursor, int count) {
    if (cursor < 0) {
      throw new IllegalArgumentException("cursor cannot be negative: " + cursor);
    }
    return retrying("SCAN", true, () -> scanOnce(cursor, count));
  }

  private CompletableFuture<ScanResult> scanOnce(long cursor, int count) {
    return withView(Calls.scan(cursor, count), view -> {
      List<Address> owners = everyOwnerAddress(view);
      int member = (int) (cursor >>> SCAN_MEMBER_SHIFT);
      if (member >= owners.size()) {
        // A cursor from a view with more members than this one: those members are gone.
        return CompletableFuture.completedFuture(new ScanResult(0, List.of()));
      }
      Address node = owners.get(member);
      return executeOn(node, Calls.scan(cursor & SCAN_NODE_CURSOR_MASK, count)).thenApply(step -> {
        long next = step.nextCursor();
        if (next < 0 || next > SCAN_NODE_CURSOR_MASK) {
          throw new DistCacheException(null, "SCAN: node " + node + " answered cursor " + next
              + ", beyond the 48 bits a cluster scan can carry beside the member");
        }
        if (next != 0) {
          return new ScanResult(((long) member << SCAN_MEMBER_SHIFT) | next, step.keys());
        }
        return new ScanResult(member + 1 < owners.size() ? (long) (member + 1) << SCAN_MEMBER_SHIFT : 0, step.keys());
      });
    });
  }

  /** Removes every entry: of every key-owning member with a cluster view, of the one node in plain mode. */
  public void flush() {
    await(flushAsync());
  }

  /**
   * Removes every entry. Asynchronous: the future completes on an I/O thread.
   *
   * @return a future completed when done
   */
  public CompletableFuture<Void> flushAsync() {
    return retrying("FLUSH", true, () -> flushOnce());
  }

  private CompletableFuture<Void> flushOnce() {
    return withView(Calls.flush(), view -> {
      List<CompletableFuture<Void>> replies = new ArrayList<>();
      for (Address node : everyOwnerAddress(view)) {
        replies.add(executeOn(node, Calls.flush()));
      }
      return CompletableFuture.allOf(replies.toArray(new CompletableFuture<?>[0]));
    });
  }

  /**
   * Number of entries: summed over every key-owning member with a cluster view, of the one node in plain mode.
   *
   * @return the number of entries
   */
  public long size() {
    return await(sizeAsync());
  }

  /**
   * The number of entries. Asynchronous: the future completes on an I/O thread.
   *
   * @return a future of the number of entries
   */
  public CompletableFuture<Long> sizeAsync() {
    return retrying("SIZE", true, () -> sizeOnce());
  }

  private CompletableFuture<Long> sizeOnce() {
    return withView(Calls.size(), view -> {
      List<CompletableFuture<Long>> replies = new ArrayList<>();
      for (Address node : everyOwnerAddress(view)) {
        replies.add(executeOn(node, Calls.size()));
      }
      return CompletableFuture.allOf(replies.toArray(new CompletableFuture<?>[0])).thenApply(done -> {
        long total = 0;
        for (CompletableFuture<Long> r : replies) {
          total += r.join();
        }
        return total;
      });
    });
  }

  /**
   * The node's statistics, by name (Redis INFO names where the meaning is the same).
   *
   * @return the statistics by name
   */
  public Map<String, String> stats() {
    return await(statsAsync());
  }

  /**
   * The statistics of one node, by name. Asynchronous: the future completes on an I/O thread.
   *
   * @return a future of the statistics by name
   */
  public CompletableFuture<Map<String, String>> statsAsync() {
    return execute(Calls.stats());
  }

  /**
   * A random key of the node, or null when it is empty.
   *
   * @return a key, or null when the node is empty
   */
  public byte[] randomKey() {
    return await(randomKeyAsync());
  }

  /**
   * A random key of one node. Asynchronous: the future completes on an I/O thread.
   *
   * @return a future of a key, or null when the node is empty
   */
  public CompletableFuture<byte[]> randomKeyAsync() {
    return execute(Calls.randomKey());
  }

  // ---- the cluster view (for tools; routing uses it by itself) ----

  /**
   * Every member of the cluster with its state, as a node last reported it; empty in plain mode
   * (smart routing off, or the nodes have no cluster layer).
   *
   * @return the current members
   */
  public List<ClusterMember> members() {
    Topology view = routing == null ? null : routing.current();
    if (view == null) {
      return List.of();
    }
    List<ClusterMember> current = new ArrayList<>();
    for (ClusterMember m : view.members()) {
      if (m.state().ownsKeys()) {
        current.add(m);
      }
    }
    return List.copyOf(current);
  }

  /**
   * The member this client sends {@code key} to, or empty in plain mode.
   *
   * @param key the key
   * @return the member, or empty in plain mode
   */
  public Optional<ClusterMember> ownerOf(byte[] key) {
    Objects.requireNonNull(key, "key");
    Topology view = routing == null ? null : routing.current();
    return view == null ? Optional.empty() : Optional.ofNullable(view.ownerMember(key));
  }

  /**
   * The member this client sends {@code key} to.
   *
   * @param key the key (UTF-8)
   * @return the member, or empty in plain mode
   */
  public Optional<ClusterMember> ownerOf(String key) {
    return ownerOf(utf8(key));
  }

  /**
   * Asks a node for the members now (rather than at the next periodic refresh) and returns the
   * resulting view, as {@link #members()}. Does nothing but return the current view in plain mode
   * with smart routing off.
   *
   * @return the current members
   */
  public List<ClusterMember> refreshMembers() {
    if (routing != null && !closed) {
      await(routing.refresh());
    }
    return members();
  }

  // ---- plumbing ----

  /**
   * Closes every connection (requests in flight fail with {@link DistCacheConnectionException}) and
   * stops the I/O threads.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (refresher != null) {
      refresher.cancel(false);
    }
    for (NodePool node : pools.values()) {
      node.close();
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  // ---- atomic batches ----

  /**
   * A new, empty batch to fill and pass to {@link #execute(AtomicBatch)}.
   *
   * @return an empty batch
   */
  public AtomicBatch atomicBatch() {
    return new AtomicBatch();
  }

  /**
   * Runs {@code batch} on the owner of its slot: when every condition holds, every operation in
   * order with no other request on their keys in between; otherwise nothing ({@link
   * BatchResult#applied()} false).
   *
   * @param batch the conditions and operations, all on one slot
   * @return whether it was applied, and each operation's result
   */
  public BatchResult execute(AtomicBatch batch) {
    return await(executeAsync(batch));
  }

  /**
   * Like {@link #execute(AtomicBatch)}, without blocking.
   *
   * @param batch the conditions and operations, all on one slot
   * @return completes with the outcome, or exceptionally as {@link #execute(AtomicBatch)} throws
   */
  public CompletableFuture<BatchResult> executeAsync(AtomicBatch batch) {
    return execute(Objects.requireNonNull(batch, "batch").call());
  }

  /** {@code call} under the retry policy: see {@link #retrying}. */
  private <T> CompletableFuture<T> execute(Call<T> call) {
    NearCache nc = nearCache;
    Opcode op = call.request().op();
    if (nc == null || op == null || op.readOnly()) {
      return retrying(call.op(), Idempotence.of(call.request()), () -> executeOnce(call));
    }
    // This client's own write: its keys leave the near cache before it is sent and again once it
    // is answered, so no get() after the acknowledgement can see the old value (NearCache).
    forgetWritten(nc, call.request());
    CompletableFuture<T> done = retrying(call.op(), Idempotence.of(call.request()), () -> executeOnce(call));
    return done.whenComplete((v, e) -> forgetWritten(nc, call.request()));
  }

  /** Removes from the near cache what {@code request} may change; everything for the requests that name keys inside. */
  private static void forgetWritten(NearCache nc, Frame request) {
    Opcode op = request.op();
    try {
      switch (op) {
        case MULTI_DELETE -> nc.invalidate(ListCodec.decodeKeys(request.value()));
        case MULTI_SET, MULTI_SET_IF_ABSENT -> {
          List<byte[]> pairs = ListCodec.decodePairs(request.value());
          for (int i = 0; i < pairs.size(); i += 2) {
            nc.invalidate(pairs.get(i));
          }
        }
        case TRANSACTION, SCRIPT -> nc.invalidateAll();
        case KEY_OP -> {
          nc.invalidate(request.key());
          if (request.value() != null) {
            nc.invalidate(request.value()); // RENAME's and COPY's destination
          }
        }
        default -> {
          if (op.keyed() && request.key() != null) {
            nc.invalidate(request.key());
          } else {
            nc.invalidateAll(); // FLUSH, and anything else keyless that writes
          }
        }
      }
    } catch (ListCodec.MalformedListException e) {
      nc.invalidateAll();
    }
  }

  /**
   * The near cache's counters, or null when the client was built without one ({@link
   * Builder#nearCache(int)}).
   *
   * @return hits, misses, invalidations and size, or null
   */
  public NearCacheStats nearCacheStats() {
    NearCache nc = nearCache;
    return nc == null ? null : new NearCacheStats(nc.hits(), nc.misses(), nc.invalidations(), nc.size());
  }

  /**
   * Runs {@code attempt}, and again after a backoff while it fails with a {@link
   * DistCacheUnavailableException} that allows it: any such failure for an idempotent request, only
   * one that certainly did nothing ({@link DistCacheUnavailableException#notApplied()}) otherwise.
   * Each attempt routes afresh, so a retry goes to the slot's new owner once the view has it. The
   * last failure reaches the caller, with the earlier ones suppressed in it.
   */
  private <T> CompletableFuture<T> retrying(String op, boolean idempotent, Supplier<CompletableFuture<T>> attempt) {
    CompletableFuture<T> result = new CompletableFuture<>();
    attempt(op, idempotent, attempt, 1, null, System.nanoTime(), result);
    return result;
  }

  private <T> void attempt(String op, boolean idempotent, Supplier<CompletableFuture<T>> attempt, int number,
      Throwable earlier, long startNanos, CompletableFuture<T> result) {
    CompletableFuture<T> outcome;
    try {
      outcome = attempt.get();
    } catch (RuntimeException e) {
      outcome = CompletableFuture.failedFuture(e);
    }
    outcome.whenComplete((value, error) -> {
      if (error == null) {
        metrics.succeeded(op, System.nanoTime() - startNanos);
        result.complete(value);
        return;
      }
      Throwable cause = unwrap(error);
      if (earlier != null && cause != earlier) {
        cause.addSuppressed(earlier);
      }
      boolean retry = !closed && number < retryPolicy.maxAttempts()
          && cause instanceof DistCacheUnavailableException u && (idempotent || u.notApplied());
      if (!retry) {
        metrics.failed(op, System.nanoTime() - startNanos, cause);
        result.completeExceptionally(cause);
        return;
      }
      metrics.retried(op);
      if (cause instanceof DistCacheConnectionException && routing != null) {
        routing.refreshSoon();
      }
      try {
        group.next().schedule(() -> attempt(op, idempotent, attempt, number + 1, cause, startNanos, result),
            retryPolicy.backoffNanos(number), TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException closing) {
        result.completeExceptionally(cause);
      }
    });
  }

  private <T> CompletableFuture<T> executeOnce(Call<T> call) {
    CompletableFuture<T> result = new CompletableFuture<>();
    if (closed) {
      result.completeExceptionally(new DistCacheConnectionException(call.op() + " failed: the client is closed"));
      return result;
    }
    DistCacheException tooLarge = checkSize(call);
    if (tooLarge != null) {
      result.completeExceptionally(tooLarge);
      return result;
    }
    if (routing != null && !routing.firstAnswer().isDone()) {
      // Wait for the first view so that early requests go to their owners, not through a hop.
      routing.firstAnswer().whenComplete((v, e) -> dispatch(call, result));
    } else {
      dispatch(call, result);
    }
    return result;
  }

  /**
   * A node-wide operation: {@code perView} over the members of the cluster view once the first
   * view has answered, or {@code plain} to any node when there is none.
   */
  private <T> CompletableFuture<T> withView(Call<T> plain, Function<Topology, CompletableFuture<T>> perView) {
    if (routing == null) {
      return executeOnce(plain);
    }
    return routing.firstAnswer().thenCompose(ready -> {
      Topology view = routing.current();
      return view == null || view.placement().isEmpty() ? executeOnce(plain) : perView.apply(view);
    });
  }

  /**
   * A node-wide request to that node and no other (another node's answer would be about the
   * wrong keys): a refused connection fails it, and marks the node down for keyed requests.
   */
  private <T> CompletableFuture<T> executeOn(Address node, Call<T> call) {
    CompletableFuture<T> result = new CompletableFuture<>();
    if (closed) {
      result.completeExceptionally(new DistCacheConnectionException(call.op() + " failed: the client is closed"));
      return result;
    }
    pools.computeIfAbsent(node, this::newPool).acquire().whenComplete((connection, connectError) -> {
      if (connectError == null) {
        connection.send(call, result);
      } else {
        if (!closed) {
          routing.markDown(node);
        }
        result.completeExceptionally(unwrap(connectError));
      }
    });
    return result;
  }

  /**
   * The indices of {@code keys} grouped by owner, in first-seen order; null when there is no view
   * or fewer than two keys, so the request goes whole to any node. One part per owner is sent to
   * that owner unflagged: it serves its own keys, and a stale view costs a forward, not an error.
   * MULTI_SET_IF_ABSENT is never split: its all-or-nothing check belongs to one request.
   */
  private Map<Address, List<Integer>> splitByOwner(List<byte[]> keys) {
    Topology view = routing == null ? null : routing.current();
    Objects.requireNonNull(keys, "keys");
    if (view == null || keys.size() < 2) {
      return null;
    }
    Map<Address, List<Integer>> parts = new LinkedHashMap<>();
    for (int i = 0; i < keys.size(); i++) {
      Address owner = view.owner(Objects.requireNonNull(keys.get(i), "keys contains null"));
      if (owner == null) {
        return null;
      }
      parts.computeIfAbsent(owner, a -> new ArrayList<>()).add(i);
    }
    return parts;
  }

  private static List<byte[]> pick(List<byte[]> items, List<Integer> indices) {
    List<byte[]> out = new ArrayList<>(indices.size());
    for (int i : indices) {
      out.add(items.get(i));
    }
    return out;
  }

  private CompletableFuture<Long> sum(Map<Address, List<Integer>> parts, Function<List<Integer>, Call<Long>> call) {
    List<CompletableFuture<Long>> replies = new ArrayList<>(parts.size());
    parts.forEach((owner, indices) -> replies.add(executeAt(owner, call.apply(indices))));
    return CompletableFuture.allOf(replies.toArray(new CompletableFuture<?>[0])).thenApply(done -> {
      long total = 0;
      for (CompletableFuture<Long> r : replies) {
        total += r.join();
      }
      return total;
    });
  }

  /** One part of a split request, to {@code owner} unflagged (any node when it is down). */
  private <T> CompletableFuture<T> executeAt(Address owner, Call<T> call) {
    CompletableFuture<T> result = new CompletableFuture<>();
    if (closed) {
      result.completeExceptionally(new DistCacheConnectionException(call.op() + " failed: the client is closed"));
      return result;
    }
    DistCacheException tooLarge = checkSize(call);
    if (tooLarge != null) {
      result.completeExceptionally(tooLarge);
      return result;
    }
    sendUnflagged(owner, call, result);
    return result;
  }

  /** Sends {@code call} unflagged to {@code owner}, or to any node when it is down or refuses a connection. */
  private <T> void sendUnflagged(Address owner, Call<T> call, CompletableFuture<T> result) {
    if (routing.isDown(owner)) {
      sendFrom(anyNodes(routing.current()), 0, call, result);
      return;
    }
    pools.computeIfAbsent(owner, this::newPool).acquire().whenComplete((connection, connectError) -> {
      if (connectError == null) {
        connection.send(call, result);
      } else if (closed) {
        result.completeExceptionally(unwrap(connectError));
      } else {
        routing.markDown(owner);
        sendFrom(anyNodes(routing.current()), 0, call, result);
      }
    });
  }

  /** Every owner's address, for a walk over all of them; over TLS, one not known yet renews the view. */
  private List<Address> everyOwnerAddress(Topology view) {
    try {
      return view.everyOwnerAddress();
    } catch (DistCacheUnavailableException e) {
      routing.refreshSoon();
      throw e;
    }
  }

  /** A keyed request to its owner when the view knows it; anything else to any node. */
  private <T> void dispatch(Call<T> call, CompletableFuture<T> result) {
    Topology view = routing == null ? null : routing.current();
    Opcode op = call.request().op();
    if (view != null && op != null && op.keyed()) {
      Address owner = view.owner(call.request().key());
      if (owner != null && !routing.isDown(owner)) {
        sendToOwner(owner, call, result);
        return;
      }
    }
    sendFrom(anyNodes(view), 0, call, result);
  }

  /**
   * Sends ROUTED to {@code owner}; NOT_OWNER or a refused connection resend through any node,
   * TRY_AGAIN resends unflagged to the owner.
   */
  private <T> void sendToOwner(Address owner, Call<T> call, CompletableFuture<T> result) {
    pools.computeIfAbsent(owner, this::newPool).acquire().whenComplete((connection, connectError) -> {
      if (connectError != null) {
        if (closed) {
          result.completeExceptionally(unwrap(connectError));
          return;
        }
        routing.markDown(owner);
        sendFrom(anyNodes(routing.current()), 0, call, result);
        return;
      }
      CompletableFuture<Frame> reply = new CompletableFuture<>();
      connection.send(call.routed(), reply);
      reply.whenComplete((frame, error) -> {
        if (error != null) {
          if (error instanceof DistCacheConnectionException) {
            routing.refreshSoon();
          }
          result.completeExceptionally(error);
        } else if (frame.status() == Status.NOT_OWNER) {
          resendAfterNotOwner(frame, call, result);
        } else if (frame.status() == Status.TRY_AGAIN && call.request().op() != null
            && call.request().op().readOnly()) {
          // The slot is changing owner. Nothing was done: resend a read unflagged to the same node,
          // which then waits for the change to settle (up to 1.5 s), and renew the view. A write
          // is not resent: it could land after a later write of the caller's that already
          // succeeded; the caller gets the TRY_AGAIN.
          routing.refreshSoon();
          sendUnflagged(owner, call, result);
        } else {
          if (frame.status() == Status.TRY_AGAIN) {
            routing.refreshSoon();
          }
          try {
            result.complete(call.decode(frame));
          } catch (RuntimeException e) {
            result.completeExceptionally(e);
          }
        }
      });
    });
  }

  /**
   * The owner we picked says it is not the owner. When the node's placement is at least as new as
   * ours (NOT_OWNER's first extra), our view is stale: renew it (rate-limited) and resend the
   * request unflagged to the owner the node named, when that is a member we know, so that it
   * serves it or forwards it once. When the node lags behind our view, it is the one that is
   * wrong: resend unflagged through any node. Either way the resend is unflagged, so it cannot
   * come back as NOT_OWNER: one extra round trip at most, never a loop.
   */
  private <T> void resendAfterNotOwner(Frame notOwner, Call<T> call, CompletableFuture<T> result) {
    long epoch = notOwner.extras().length >= 1 ? notOwner.extras()[0] : -1;
    Topology view = routing.current();
    if (!routing.nodeIsAhead(epoch)) {
      sendFrom(anyNodes(view), 0, call, result);
      return;
    }
    routing.refreshSoon();
    Address named = namedOwner(notOwner.value(), view);
    if (named != null) {
      sendUnflagged(named, call, result);
    } else {
      sendFrom(anyNodes(view), 0, call, result);
    }
  }

  /**
   * The owner a NOT_OWNER reply names, when it is a member of our view or a configured address;
   * null otherwise. A name we do not know is not connected to: a reply must not make the client
   * open connections to arbitrary addresses (the refresh learns real new members).
   */
  private Address namedOwner(byte[] value, Topology view) {
    if (value.length == 0 || value.length > Address.MAX_HOST_LENGTH + 8) {
      return null;
    }
    Address named;
    try {
      named = Address.parse(new String(value, StandardCharsets.US_ASCII));
    } catch (IllegalArgumentException e) {
      return null;
    }
    return (view != null && view.isMemberAddress(named)) || seedAddresses.contains(named) ? named : null;
  }

  private <T> CompletableFuture<T> executeOnAnyNode(Call<T> call) {
    CompletableFuture<T> result = new CompletableFuture<>();
    sendFrom(anyNodes(routing == null ? null : routing.current()), 0, call, result);
    return result;
  }

  /**
   * The nodes to try for a request without an owner: the one that last accepted a connection, the
   * configured addresses in order, then the key-owning members of the view.
   */
  private List<NodePool> anyNodes(Topology view) {
    NodePool first = preferred;
    if (view == null && first == seeds.get(0)) {
      return seeds;
    }
    LinkedHashSet<NodePool> order = new LinkedHashSet<>();
    order.add(first);
    order.addAll(seeds);
    if (view != null) {
      for (Address a : view.ownerAddresses()) {
        order.add(pools.computeIfAbsent(a, this::newPool));
      }
    }
    return new ArrayList<>(order);
  }

  /** Tries the nodes in order, moving on only when a node refuses connections. */
  private <T> void sendFrom(List<NodePool> order, int attempt, Call<T> call, CompletableFuture<T> result) {
    NodePool node = order.get(attempt);
    node.acquire().whenComplete((connection, connectError) -> {
      if (connectError == null) {
        preferred = node;
        connection.send(call, result);
      } else if (attempt + 1 < order.size() && !closed) {
        sendFrom(order, attempt + 1, call, result);
      } else {
        result.completeExceptionally(unwrap(connectError));
      }
    });
  }

  /**
   * After the view changed: closes the connections to nodes that are neither configured nor
   * key-owning members any more, so members that left do not pin connections.
   */
  private void retainPools(Topology view) {
    announceMembers(view);
    Set<Address> keep = new HashSet<>(view.ownerAddresses());
    for (NodePool seed : seeds) {
      keep.add(new Address(seed.address().getHostString(), seed.address().getPort()));
    }
    pools.entrySet().removeIf(e -> {
      if (keep.contains(e.getKey())) {
        return false;
      }
      e.getValue().close();
      if (preferred == e.getValue()) {
        preferred = seeds.get(0);
      }
      return true;
    });
  }

  /** Tells the listeners which key-owning members came and went since the last view. */
  private synchronized void announceMembers(Topology view) {
    if (listeners.isEmpty()) {
      return;
    }
    Map<String, ClusterMember> now = new LinkedHashMap<>();
    for (ClusterMember m : view.members()) {
      if (m.state().ownsKeys()) {
        now.put(m.id(), m);
      }
    }
    for (ClusterMember gone : announced.values()) {
      if (!now.containsKey(gone.id())) {
        listeners.memberRemoved(gone);
      }
    }
    for (ClusterMember added : now.values()) {
      if (!announced.containsKey(added.id())) {
        listeners.memberAdded(added);
      }
    }
    announced = now;
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }

  private <T> DistCacheException checkSize(Call<T> call) {
    var request = call.request();
    if (request.key().length > ProtocolConstants.MAX_KEY_BYTES) {
      return new TooLargeException(call.op() + ": key length " + request.key().length
          + " exceeds the limit " + ProtocolConstants.MAX_KEY_BYTES);
    }
    long frameBytes = ProtocolConstants.HEADER_BYTES + request.extras().length * 8L
        + request.key().length + (long) request.value().length;
    if (frameBytes > maxFrameBytes) {
      return new TooLargeException(call.op() + ": frame length " + frameBytes + " exceeds the limit " + maxFrameBytes);
    }
    return null;
  }

  private <T> T await(CompletableFuture<T> future) {
    for (EventExecutor loop : group) {
      if (loop.inEventLoop()) {
        throw new IllegalStateException(
            "a blocking DistCacheClient method was called on the client's I/O thread (from a future's callback); "
                + "use the ...Async method there");
      }
    }
    try {
      return future.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() instanceof CompletionException && e.getCause().getCause() != null
          ? e.getCause().getCause() : e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new DistCacheException(null, "request failed: " + cause, cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DistCacheException(null, "interrupted while waiting for the reply", e);
    }
  }

  private static byte[] utf8(String s) {
    return Objects.requireNonNull(s, "key and value strings cannot be null").getBytes(StandardCharsets.UTF_8);
  }

  private static List<byte[]> utf8(String[] keys) {
    List<byte[]> out = new ArrayList<>(keys.length);
    for (String k : keys) {
      out.add(utf8(k));
    }
    return out;
  }

  private static String text(byte[] bytes) {
    return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
  }

  /** Configures a {@link DistCacheClient}. */
  public static final class Builder {
    private final List<InetSocketAddress> addresses = new ArrayList<>();
    private Duration connectTimeout = Duration.ofSeconds(2);
    private Duration requestTimeout = Duration.ofSeconds(2);
    private int connectionsPerNode = 2;
    private String user;
    private String password;
    private io.netty.handler.ssl.SslContext tls;

    /**
     * Connects with TLS (1.2 or 1.3) to the nodes' TLS port (their --tls-port), trusting the CA
     * certificates in {@code caCertFile} (PEM) and verifying that each node's certificate names the
     * host dialed; {@code clientCertFile} and {@code clientKeyFile} (PEM, PKCS#8), when not null,
     * are presented to nodes that require client certificates. With smart routing the client asks
     * the nodes for each member's TLS port too (CLUSTER_MEMBERS) and dials members there.
     *
     * @param caCertFile the CA certificates to trust (PEM)
     * @param clientCertFile this client's certificate (PEM), or null
     * @param clientKeyFile its private key (PEM, PKCS#8), or null
     * @return this builder
     */
    public Builder tls(java.nio.file.Path caCertFile, java.nio.file.Path clientCertFile, java.nio.file.Path clientKeyFile) {
      try {
        io.netty.handler.ssl.SslContextBuilder b = io.netty.handler.ssl.SslContextBuilder.forClient()
            .protocols("TLSv1.3", "TLSv1.2")
            .trustManager(caCertFile.toFile());
        if (clientCertFile != null) {
          b.keyManager(clientCertFile.toFile(), clientKeyFile.toFile());
        }
        this.tls = b.build();
      } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
        throw new IllegalArgumentException("cannot load the TLS files (" + caCertFile + ", " + clientCertFile + ", "
            + clientKeyFile + "): " + e.getMessage(), e);
      }
      return this;
    }

    /**
     * Connects with TLS trusting {@code trust} (a trust store's factory) and presenting the keys of
     * {@code keys} (null: no client certificate).
     *
     * @param trust the factory of the trust managers that check the nodes' certificates
     * @param keys the factory of this client's key managers, or null
     * @return this builder
     */
    public Builder tls(javax.net.ssl.TrustManagerFactory trust, javax.net.ssl.KeyManagerFactory keys) {
      try {
        io.netty.handler.ssl.SslContextBuilder b = io.netty.handler.ssl.SslContextBuilder.forClient()
            .protocols("TLSv1.3", "TLSv1.2").trustManager(trust);
        if (keys != null) {
          b.keyManager(keys);
        }
        this.tls = b.build();
      } catch (javax.net.ssl.SSLException e) {
        throw new IllegalArgumentException("cannot build the TLS context: " + e.getMessage(), e);
      }
      return this;
    }
    private int maxFrameBytes = ProtocolConstants.DEFAULT_MAX_FRAME_BYTES;
    private int ioThreads = Math.min(2, Runtime.getRuntime().availableProcessors());
    private boolean smartRouting = true;
    private int nearCacheEntries;

    /**
     * Keeps a local copy of up to {@code maxEntries} recently read values ({@link #get(byte[])}
     * and its overloads), served without a round trip until the value changes. Every connection
     * asks its node to track the keys read on it (Redis's client tracking, over the binary
     * protocol), and the node's invalidations drop changed keys: writes from any client, deletes,
     * expiry, eviction, flushes, and a key's slot moving. The whole copy is dropped when a
     * connection closes, as its invalidations may be lost. Off by default. Needs Caffeine
     * ({@code com.github.ben-manes.caffeine:caffeine} 3.x) on the class path.
     *
     * @param maxEntries the most values kept, at least 1
     * @return this builder
     * @throws IllegalStateException when Caffeine is not on the class path
     */
    public Builder nearCache(int maxEntries) {
      if (maxEntries < 1) {
        throw new IllegalArgumentException("nearCache: expected at least 1 entry, got " + maxEntries);
      }
      try {
        Class.forName("com.github.benmanes.caffeine.cache.Caffeine", false, Builder.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException("nearCache needs com.github.ben-manes.caffeine:caffeine 3.x on the class path");
      }
      this.nearCacheEntries = maxEntries;
      return this;
    }
    private Duration refreshInterval = Duration.ofSeconds(1);
    private RetryPolicy retryPolicy = RetryPolicy.defaults();
    private final List<DistCacheListener> listeners = new ArrayList<>();
    private Object meterRegistry;
    private boolean metrics = true;

    private Builder() {}

    /**
     * How requests that fail with a {@link DistCacheUnavailableException} are retried (default
     * {@link RetryPolicy#defaults()}); {@link RetryPolicy#none()} to see every failure at once.
     *
     * @param policy the policy
     * @return this builder
     */
    public Builder retryPolicy(RetryPolicy policy) {
      this.retryPolicy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /**
     * Adds a listener for membership and connection changes; see {@link DistCacheListener}.
     *
     * @param listener the listener
     * @return this builder
     */
    public Builder listener(DistCacheListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    /**
     * The Micrometer registry for the client's meters ({@code distcache.client.calls}, a timer
     * tagged by op and outcome, and {@code distcache.client.retries}, a counter tagged by op). By
     * default, when Micrometer is on the classpath, they go to Micrometer's global registry.
     *
     * @param registry an {@code io.micrometer.core.instrument.MeterRegistry}; typed Object so that
     *     this class does not need Micrometer on the classpath
     * @return this builder
     * @throws IllegalArgumentException at {@link #build()} when it is not a MeterRegistry
     */
    public Builder meterRegistry(Object registry) {
      this.meterRegistry = Objects.requireNonNull(registry, "registry");
      return this;
    }

    /**
     * Whether to record Micrometer metrics when Micrometer is on the classpath (default true).
     *
     * @param on false for no metrics
     * @return this builder
     */
    public Builder metrics(boolean on) {
      this.metrics = on;
      return this;
    }

    /**
     * Send each single-key request straight to its owner from a copy of the cluster's ring (default
     * true). Off, or against nodes without a cluster layer, every request goes to the first
     * reachable address, which forwards it to the owner.
     *
     * @param on true to enable
     * @return this builder
     */
    public Builder smartRouting(boolean on) {
      this.smartRouting = on;
      return this;
    }

    /**
     * How often the smart client asks for the members, to notice joins and leaves (default 1 s).
     *
     * @param interval the interval, positive
     * @return this builder
     */
    public Builder topologyRefreshInterval(Duration interval) {
      Durations.positiveMillis("topologyRefreshInterval", interval);
      this.refreshInterval = interval;
      return this;
    }

    /**
     * Nodes as {@code host:port} ({@code [v6addr]:port} for IPv6 literals); tried in this order.
     *
     * @param hostPorts the nodes
     * @return this builder
     */
    public Builder addresses(String... hostPorts) {
      return addresses(Arrays.asList(hostPorts));
    }

    /**
     * Nodes as {@code host:port} ({@code [v6addr]:port} for IPv6 literals); tried in this order.
     *
     * @param hostPorts the nodes
     * @return this builder
     */
    public Builder addresses(List<String> hostPorts) {
      for (String hp : hostPorts) {
        addresses.add(parse(hp));
      }
      return this;
    }

    /**
     * Longest wait for a TCP connection (default 2 s).
     *
     * @param timeout the timeout, positive
     * @return this builder
     */
    public Builder connectTimeout(Duration timeout) {
      Durations.positiveMillis("connectTimeout", timeout);
      if (timeout.toMillis() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("connectTimeout: expected <= " + Integer.MAX_VALUE + " ms, got " + timeout);
      }
      this.connectTimeout = timeout;
      return this;
    }

    /**
     * Longest wait for each reply once the request is sent (default 2 s).
     *
     * @param timeout the timeout, positive
     * @return this builder
     */
    public Builder requestTimeout(Duration timeout) {
      Durations.positiveMillis("requestTimeout", timeout);
      this.requestTimeout = timeout;
      return this;
    }

    /**
     * Connections to each node (default 2); each carries many requests at once.
     *
     * @param n the number
     * @return this builder
     */
    public Builder connectionsPerNode(int n) {
      if (n < 1 || n > 64) {
        throw new IllegalArgumentException("connectionsPerNode: expected 1..64, got " + n);
      }
      this.connectionsPerNode = n;
      return this;
    }

    /**
     * Authenticates every connection as {@code user} (null or empty: the node's default user) with
     * {@code password}, the node's ACL users (docs/OPERATIONS.md, "Security"). A refused AUTH fails
     * the requests that needed the connection with a DistCacheException of status AUTH_FAILED.
     *
     * @param user the ACL user, or null for the default user
     * @param password its password
     * @return this builder
     */
    public Builder credentials(String user, String password) {
      if (password == null) {
        throw new IllegalArgumentException("password cannot be null");
      }
      this.user = user;
      this.password = password;
      return this;
    }

    /**
     * Largest frame sent or accepted (default 32 MiB, the node's default).
     *
     * @param bytes the size in bytes
     * @return this builder
     */
    public Builder maxFrameBytes(int bytes) {
      if (bytes < ProtocolConstants.HEADER_BYTES) {
        throw new IllegalArgumentException(
            "maxFrameBytes: expected >= " + ProtocolConstants.HEADER_BYTES + ", got " + bytes);
      }
      this.maxFrameBytes = bytes;
      return this;
    }

    /**
     * I/O threads shared by all connections (default min(2, cores)).
     *
     * @param n the number
     * @return this builder
     */
    public Builder ioThreads(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("ioThreads: expected >= 1, got " + n);
      }
      this.ioThreads = n;
      return this;
    }

    /**
     * Builds the client; it connects lazily, on the first request.
     *
     * @return the client
     */
    public DistCacheClient build() {
      if (addresses.isEmpty()) {
        throw new IllegalStateException("no addresses: call addresses(\"host:port\", ...)");
      }
      return new DistCacheClient(this);
    }

    private static InetSocketAddress parse(String hostPort) {
      Objects.requireNonNull(hostPort, "address");
      int colon = hostPort.lastIndexOf(':');
      if (colon <= 0 || colon == hostPort.length() - 1) {
        throw new IllegalArgumentException("address must be host:port, got \"" + hostPort + "\"");
      }
      String host = hostPort.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port;
      try {
        port = Integer.parseInt(hostPort.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("address port is not a number: \"" + hostPort + "\"");
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("address port: expected 1..65535, got " + port + " in \"" + hostPort + "\"");
      }
      return InetSocketAddress.createUnresolved(host, port);
    }
  }
}
