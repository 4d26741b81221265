package io.distcache.jcache.tck;

import io.distcache.jcache.DistCacheCachingProvider;
import io.distcache.junit5.DistCacheExtension;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/*
 * Design: the JSR-107 TCK reaches the provider only through Caching.getCachingProvider() and the
 * provider's default URI, so the node it runs against is started here, once per test JVM, before
 * any test class is discovered: an embedded DistCacheNode on a free 127.0.0.1 port, whose address
 * becomes the default URI (the distcache.jcache.uri system property). The node is closed when the
 * launcher session ends. -Ddistcache.jcache.tck.nodes=N (1 to 9) starts an N-node cluster instead,
 * the URI naming every member. A URI set from outside (-Ddistcache.jcache.uri=...) runs the tests
 * against that cluster instead, and no node is started.
 */

/** Starts an embedded node for the test JVM's session and points the provider's default URI at it. */
public final class EmbeddedNodeSession implements LauncherSessionListener {
  /** System property: how many nodes to start (default 1). */
  static final String NODES_PROPERTY = "distcache.jcache.tck.nodes";

  private DistCacheExtension nodes;
  private boolean started;

  @Override
  public void launcherSessionOpened(LauncherSession session) {
    if (started || System.getProperty(DistCacheCachingProvider.URI_PROPERTY) != null) {
      return;
    }
    started = true;
    int count = Integer.getInteger(NODES_PROPERTY, 1);
    nodes = count == 1 ? DistCacheExtension.singleNode() : DistCacheExtension.cluster(count);
    nodes.configure(b -> b.maxMemoryBytes(256L << 20)).start();
    System.setProperty(DistCacheCachingProvider.URI_PROPERTY, "distcache://" + String.join(",", nodes.addresses()));
  }

  @Override
  public void launcherSessionClosed(LauncherSession session) {
    if (nodes != null) {
      nodes.stop();
      nodes = null;
      System.clearProperty(DistCacheCachingProvider.URI_PROPERTY);
    }
  }
}
