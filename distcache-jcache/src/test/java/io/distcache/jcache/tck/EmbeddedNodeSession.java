package io.distcache.jcache.tck;

import io.distcache.jcache.DistCacheCachingProvider;
import io.distcache.server.DistCacheNode;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/*
 * Design: the JSR-107 TCK reaches the provider only through Caching.getCachingProvider() and the
 * provider's default URI, so the node it runs against is started here, once per test JVM, before
 * any test class is discovered: an embedded DistCacheNode on a free 127.0.0.1 port, whose address
 * becomes the default URI (the distcache.jcache.uri system property). The node is closed when the
 * launcher session ends. A URI set from outside (-Ddistcache.jcache.uri=...) runs the tests
 * against that cluster instead, and no node is started.
 */

/** Starts an embedded node for the test JVM's session and points the provider's default URI at it. */
public final class EmbeddedNodeSession implements LauncherSessionListener {
  private DistCacheNode node;
  private boolean started;

  @Override
  public void launcherSessionOpened(LauncherSession session) {
    if (started || System.getProperty(DistCacheCachingProvider.URI_PROPERTY) != null) {
      return;
    }
    started = true;
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(256L << 20).build().start();
    System.setProperty(DistCacheCachingProvider.URI_PROPERTY, "distcache://127.0.0.1:" + node.port());
  }

  @Override
  public void launcherSessionClosed(LauncherSession session) {
    if (node != null) {
      node.close();
      node = null;
      System.clearProperty(DistCacheCachingProvider.URI_PROPERTY);
    }
  }
}
