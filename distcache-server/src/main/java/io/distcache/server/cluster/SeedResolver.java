package io.distcache.server.cluster;

import io.distcache.protocol.cluster.Address;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: a --join host name may stand for several members: a Kubernetes headless service
 * resolves to the address of every pod behind it. So a name is resolved to all its addresses,
 * each a seed, once at start and then again every RESOLVE_INTERVAL (pods start at different
 * times and appear in DNS when they do): new addresses are handed to membership as more seeds.
 * Lookups block, so they run on a thread of their own, never on the membership loop. A name that
 * does not resolve stays a seed by its name (the bus resolves it when it dials, as before), and
 * its failure is logged once per name until it resolves. The JVM caches answers for 30 s by
 * default (networkaddress.cache.ttl), which bounds how soon a new pod is seen.
 */

/** Expands --join host names to every address behind them, now and periodically. */
public final class SeedResolver implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SeedResolver.class);
  public static final Duration RESOLVE_INTERVAL = Duration.ofSeconds(5);

  /** A DNS lookup: every address of {@code host} as text. */
  @FunctionalInterface
  public interface Lookup {
    List<String> addresses(String host) throws UnknownHostException;
  }

  /** The system resolver. */
  public static final Lookup DNS = host -> {
    List<String> out = new ArrayList<>();
    for (InetAddress a : InetAddress.getAllByName(host)) {
      out.add(a.getHostAddress());
    }
    return out;
  };

  private final ScheduledExecutorService thread;
  private final Set<Address> known = new LinkedHashSet<>();
  private final Set<String> failing = new LinkedHashSet<>();

  private SeedResolver(ScheduledExecutorService thread) {
    this.thread = thread;
  }

  /**
   * Every seed with a host name replaced by all its addresses (same port); IP literals and names
   * that do not resolve are kept as given. Order is kept, duplicates dropped.
   */
  public static List<Address> expand(List<Address> seeds, Lookup lookup) {
    Set<Address> out = new LinkedHashSet<>();
    for (Address seed : seeds) {
      if (isLiteral(seed.host())) {
        out.add(seed);
        continue;
      }
      try {
        List<String> found = lookup.addresses(seed.host());
        if (found.isEmpty()) {
          out.add(seed);
        }
        for (String ip : found) {
          out.add(new Address(ip, seed.port()));
        }
      } catch (UnknownHostException e) {
        out.add(seed);
      }
    }
    return new ArrayList<>(out);
  }

  static boolean isLiteral(String host) {
    return NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host);
  }

  /**
   * Re-resolves the named seeds every {@code every} on a daemon thread and passes addresses not
   * seen before (and not in {@code already}) to {@code more}. Returns null when no seed is a name.
   */
  public static SeedResolver start(List<Address> seeds, List<Address> already, Lookup lookup, Duration every,
      Consumer<List<Address>> more) {
    List<Address> named = new ArrayList<>();
    for (Address seed : seeds) {
      if (!isLiteral(seed.host())) {
        named.add(seed);
      }
    }
    if (named.isEmpty()) {
      return null;
    }
    ScheduledExecutorService t = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread th = new Thread(r, "distcache-seed-resolver");
      th.setDaemon(true);
      return th;
    });
    SeedResolver resolver = new SeedResolver(t);
    resolver.known.addAll(already);
    t.scheduleWithFixedDelay(() -> resolver.resolve(named, lookup, more), every.toNanos(), every.toNanos(),
        TimeUnit.NANOSECONDS);
    return resolver;
  }

  /** One round; package-private for tests. */
  void resolve(List<Address> named, Lookup lookup, Consumer<List<Address>> more) {
    List<Address> fresh = new ArrayList<>();
    for (Address seed : named) {
      try {
        for (String ip : lookup.addresses(seed.host())) {
          Address a = new Address(ip, seed.port());
          if (known.add(a)) {
            fresh.add(a);
          }
        }
        failing.remove(seed.host());
      } catch (UnknownHostException | RuntimeException e) {
        if (failing.add(seed.host())) {
          log.warn("--join host {} does not resolve ({}); retrying every {} s", seed.host(), e.getMessage(),
              RESOLVE_INTERVAL.toSeconds());
        }
      }
    }
    if (!fresh.isEmpty()) {
      log.info("--join names resolve to new addresses {}; joining through them too", fresh);
      more.accept(fresh);
    }
  }

  /** For tests: a resolver without a thread. */
  static SeedResolver manual(List<Address> already) {
    SeedResolver r = new SeedResolver(null);
    r.known.addAll(already);
    return r;
  }

  @Override
  public void close() {
    if (thread != null) {
      thread.shutdownNow();
    }
  }
}
