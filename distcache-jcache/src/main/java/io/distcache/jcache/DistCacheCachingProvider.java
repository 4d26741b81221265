package io.distcache.jcache;

import io.distcache.client.DistCacheClient;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.WeakHashMap;
import javax.cache.CacheException;
import javax.cache.CacheManager;
import javax.cache.configuration.OptionalFeature;
import javax.cache.spi.CachingProvider;

/*
 * Design: the URI of a cache manager names the cluster: "distcache://host:port[,host:port...]",
 * the addresses the client starts from (any member; the client learns the rest). An embedded
 * DistCacheNode is reached the same way, by its address. The default URI is the system property
 * distcache.jcache.uri, else distcache://127.0.0.1:7000 (the CLI's default port). Properties
 * given to getCacheManager set the client: distcache.user and distcache.password (AUTH),
 * distcache.requestTimeoutMillis. Managers are kept per class loader (weakly, so an undeployed
 * application's loader can go) and per URI.
 */

/**
 * The JCache CachingProvider of distcache, found by {@code Caching.getCachingProvider()} through
 * META-INF/services. Cache managers are named by {@code distcache://host:port[,host:port...]}.
 */
public final class DistCacheCachingProvider implements CachingProvider {
  /** System property: the default URI. */
  public static final String URI_PROPERTY = "distcache.jcache.uri";
  /** The default URI when {@value #URI_PROPERTY} is not set. */
  public static final String DEFAULT_URI = "distcache://127.0.0.1:7000";
  /** The URI scheme. */
  public static final String SCHEME = "distcache";
  /** Property: the user to authenticate as (with {@value #PASSWORD}). */
  public static final String USER = "distcache.user";
  /** Property: the password to authenticate with. */
  public static final String PASSWORD = "distcache.password";
  /** Property: the client's request timeout in milliseconds. */
  public static final String REQUEST_TIMEOUT_MILLIS = "distcache.requestTimeoutMillis";

  private final Map<ClassLoader, Map<URI, DistCacheCacheManager>> managers = new WeakHashMap<>();

  /** The provider; {@code Caching} creates it through its service entry. */
  public DistCacheCachingProvider() {}

  @Override
  public CacheManager getCacheManager(URI uri, ClassLoader classLoader, Properties properties) {
    URI u = uri == null ? getDefaultURI() : uri;
    ClassLoader loader = classLoader == null ? getDefaultClassLoader() : classLoader;
    Properties props = properties == null ? new Properties() : properties;
    synchronized (managers) {
      Map<URI, DistCacheCacheManager> byUri = managers.computeIfAbsent(loader, l -> new HashMap<>());
      DistCacheCacheManager manager = byUri.get(u);
      if (manager == null) {
        manager = new DistCacheCacheManager(this, u, loader, props, newClient(u, props));
        byUri.put(u, manager);
      }
      return manager;
    }
  }

  /** A client for the addresses a URI names. */
  static DistCacheClient newClient(URI uri, Properties properties) {
    List<String> addresses = addresses(uri);
    DistCacheClient.Builder b = DistCacheClient.builder().addresses(addresses);
    String user = properties.getProperty(USER);
    String password = properties.getProperty(PASSWORD);
    if (password != null) {
      b.credentials(user, password);
    }
    String timeout = properties.getProperty(REQUEST_TIMEOUT_MILLIS);
    if (timeout != null) {
      try {
        b.requestTimeout(Duration.ofMillis(Long.parseLong(timeout.trim())));
      } catch (NumberFormatException e) {
        throw new CacheException(REQUEST_TIMEOUT_MILLIS + " must be a number of milliseconds, got \"" + timeout + "\"");
      }
    }
    return b.build();
  }

  /** The host:port addresses of a distcache URI. */
  static List<String> addresses(URI uri) {
    if (!SCHEME.equals(uri.getScheme())) {
      throw new CacheException("a distcache cache manager URI is distcache://host:port[,host:port...], got " + uri);
    }
    String authority = uri.getRawAuthority();
    if (authority == null || authority.isBlank()) {
      throw new CacheException("the URI names no address: " + uri + " (expected distcache://host:port)");
    }
    List<String> out = new ArrayList<>();
    for (String a : authority.split(",")) {
      if (!a.isBlank()) {
        out.add(a.trim());
      }
    }
    return out;
  }

  @Override
  public ClassLoader getDefaultClassLoader() {
    return getClass().getClassLoader();
  }

  @Override
  public URI getDefaultURI() {
    String configured = System.getProperty(URI_PROPERTY, DEFAULT_URI);
    try {
      return URI.create(configured);
    } catch (IllegalArgumentException e) {
      throw new CacheException(URI_PROPERTY + " is not a URI: \"" + configured + "\"", e);
    }
  }

  @Override
  public Properties getDefaultProperties() {
    return new Properties();
  }

  @Override
  public CacheManager getCacheManager(URI uri, ClassLoader classLoader) {
    return getCacheManager(uri, classLoader, getDefaultProperties());
  }

  @Override
  public CacheManager getCacheManager() {
    return getCacheManager(getDefaultURI(), getDefaultClassLoader(), getDefaultProperties());
  }

  @Override
  public void close() {
    List<DistCacheCacheManager> all = new ArrayList<>();
    synchronized (managers) {
      for (Map<URI, DistCacheCacheManager> byUri : managers.values()) {
        all.addAll(byUri.values());
      }
      managers.clear();
    }
    for (DistCacheCacheManager m : all) {
      m.close();
    }
  }

  @Override
  public void close(ClassLoader classLoader) {
    ClassLoader loader = classLoader == null ? getDefaultClassLoader() : classLoader;
    List<DistCacheCacheManager> all;
    synchronized (managers) {
      Map<URI, DistCacheCacheManager> byUri = managers.remove(loader);
      all = byUri == null ? List.of() : new ArrayList<>(byUri.values());
    }
    for (DistCacheCacheManager m : all) {
      m.close();
    }
  }

  @Override
  public void close(URI uri, ClassLoader classLoader) {
    URI u = uri == null ? getDefaultURI() : uri;
    ClassLoader loader = classLoader == null ? getDefaultClassLoader() : classLoader;
    DistCacheCacheManager m;
    synchronized (managers) {
      Map<URI, DistCacheCacheManager> byUri = managers.get(loader);
      m = byUri == null ? null : byUri.remove(u);
      if (byUri != null && byUri.isEmpty()) {
        managers.remove(loader);
      }
    }
    if (m != null) {
      m.close();
    }
  }

  /** Forgets a manager that was closed, so the next request for its URI makes a new one. */
  void release(DistCacheCacheManager manager) {
    synchronized (managers) {
      Map<URI, DistCacheCacheManager> byUri = managers.get(manager.getClassLoader());
      if (byUri != null && byUri.get(manager.getURI()) == manager) {
        byUri.remove(manager.getURI());
        if (byUri.isEmpty()) {
          managers.remove(manager.getClassLoader());
        }
      }
    }
  }

  @Override
  public boolean isSupported(OptionalFeature optionalFeature) {
    Objects.requireNonNull(optionalFeature, "optionalFeature");
    // Entries live in another process: a cache can only hold copies (store by value).
    return false;
  }
}
