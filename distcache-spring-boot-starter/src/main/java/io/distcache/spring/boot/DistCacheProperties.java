package io.distcache.spring.boot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code distcache.*} properties: how to reach the cluster, and the Spring caches' expiry.
 *
 * <pre>
 * distcache.addresses=10.0.0.1:7000,10.0.0.2:7000
 * distcache.request-timeout=2s
 * distcache.retry.max-attempts=10
 * distcache.cache.default-ttl=10m
 * distcache.cache.ttl.users=30s
 * </pre>
 */
@ConfigurationProperties(prefix = "distcache")
public class DistCacheProperties {
  private List<String> addresses = new ArrayList<>(List.of("127.0.0.1:7000"));
  private Duration connectTimeout = Duration.ofSeconds(2);
  private Duration requestTimeout = Duration.ofSeconds(2);
  private boolean smartRouting = true;
  private final Retry retry = new Retry();
  private final Cache cache = new Cache();

  /** Creates the properties with their defaults. */
  public DistCacheProperties() {}

  /**
   * Nodes to connect to, {@code host:port} each; any nodes of the cluster (default 127.0.0.1:7000).
   *
   * @return the addresses
   */
  public List<String> getAddresses() {
    return addresses;
  }

  /**
   * Sets the nodes to connect to.
   *
   * @param addresses {@code host:port} each
   */
  public void setAddresses(List<String> addresses) {
    this.addresses = addresses;
  }

  /**
   * Longest wait for a TCP connection (default 2 s).
   *
   * @return the timeout
   */
  public Duration getConnectTimeout() {
    return connectTimeout;
  }

  /**
   * Sets the longest wait for a TCP connection.
   *
   * @param connectTimeout the timeout, positive
   */
  public void setConnectTimeout(Duration connectTimeout) {
    this.connectTimeout = connectTimeout;
  }

  /**
   * Longest wait for each reply (default 2 s).
   *
   * @return the timeout
   */
  public Duration getRequestTimeout() {
    return requestTimeout;
  }

  /**
   * Sets the longest wait for each reply.
   *
   * @param requestTimeout the timeout, positive
   */
  public void setRequestTimeout(Duration requestTimeout) {
    this.requestTimeout = requestTimeout;
  }

  /**
   * Whether requests go straight to their key's owner (default true).
   *
   * @return true for smart routing
   */
  public boolean isSmartRouting() {
    return smartRouting;
  }

  /**
   * Sets whether requests go straight to their key's owner.
   *
   * @param smartRouting true for smart routing
   */
  public void setSmartRouting(boolean smartRouting) {
    this.smartRouting = smartRouting;
  }

  /**
   * The retry policy's settings.
   *
   * @return the retry settings
   */
  public Retry getRetry() {
    return retry;
  }

  /**
   * The Spring caches' settings.
   *
   * @return the cache settings
   */
  public Cache getCache() {
    return cache;
  }

  /** {@code distcache.retry.*}: the client's RetryPolicy. */
  public static class Retry {
    private int maxAttempts = 10;
    private Duration initialBackoff = Duration.ofMillis(50);
    private Duration maxBackoff = Duration.ofSeconds(1);

    /** Creates the settings with the client's defaults. */
    public Retry() {}

    /**
     * Attempts in all, the first included (default 10; 1 turns retries off).
     *
     * @return the attempts
     */
    public int getMaxAttempts() {
      return maxAttempts;
    }

    /**
     * Sets the attempts in all.
     *
     * @param maxAttempts 1 to 100
     */
    public void setMaxAttempts(int maxAttempts) {
      this.maxAttempts = maxAttempts;
    }

    /**
     * The wait before the first retry (default 50 ms).
     *
     * @return the backoff
     */
    public Duration getInitialBackoff() {
      return initialBackoff;
    }

    /**
     * Sets the wait before the first retry.
     *
     * @param initialBackoff not negative
     */
    public void setInitialBackoff(Duration initialBackoff) {
      this.initialBackoff = initialBackoff;
    }

    /**
     * The longest wait between attempts (default 1 s).
     *
     * @return the backoff
     */
    public Duration getMaxBackoff() {
      return maxBackoff;
    }

    /**
     * Sets the longest wait between attempts.
     *
     * @param maxBackoff at least the initial backoff
     */
    public void setMaxBackoff(Duration maxBackoff) {
      this.maxBackoff = maxBackoff;
    }
  }

  /** {@code distcache.cache.*}: the Spring caches. */
  public static class Cache {
    private Duration defaultTtl;
    private Map<String, Duration> ttl = new LinkedHashMap<>();
    private boolean allowNullValues = true;

    /** Creates the settings: no expiry, nulls cached. */
    public Cache() {}

    /**
     * Time to live of entries in caches without their own (default: none, entries never expire).
     *
     * @return the default time to live, or null
     */
    public Duration getDefaultTtl() {
      return defaultTtl;
    }

    /**
     * Sets the default time to live.
     *
     * @param defaultTtl positive, or null for no expiry
     */
    public void setDefaultTtl(Duration defaultTtl) {
      this.defaultTtl = defaultTtl;
    }

    /**
     * Time to live per cache name ({@code distcache.cache.ttl.users=30s}).
     *
     * @return the times to live by cache name
     */
    public Map<String, Duration> getTtl() {
      return ttl;
    }

    /**
     * Sets the time to live per cache name.
     *
     * @param ttl the times to live by cache name
     */
    public void setTtl(Map<String, Duration> ttl) {
      this.ttl = ttl;
    }

    /**
     * Whether a method's null result is cached (default true, as Spring's caches do).
     *
     * @return true when nulls are cached
     */
    public boolean isAllowNullValues() {
      return allowNullValues;
    }

    /**
     * Sets whether null results are cached.
     *
     * @param allowNullValues true to cache nulls
     */
    public void setAllowNullValues(boolean allowNullValues) {
      this.allowNullValues = allowNullValues;
    }
  }
}
