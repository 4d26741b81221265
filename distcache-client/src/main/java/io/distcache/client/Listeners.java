package io.distcache.client;

import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the registered listeners behind one object, so that the pools and the router call one
 * thing, and a listener that throws is logged (once per client at WARN, then at DEBUG, so a
 * broken listener cannot flood the log on every reconnect) without stopping the others or the
 * client's I/O thread.
 */
final class Listeners {
  private static final Logger log = LoggerFactory.getLogger(Listeners.class);

  static final Listeners NONE = new Listeners(List.of());

  private final List<DistCacheListener> listeners;
  private volatile boolean warned;

  Listeners(List<DistCacheListener> listeners) {
    this.listeners = List.copyOf(listeners);
  }

  boolean isEmpty() {
    return listeners.isEmpty();
  }

  void memberAdded(ClusterMember m) {
    for (DistCacheListener l : listeners) {
      run(() -> l.memberAdded(m), "memberAdded");
    }
  }

  void memberRemoved(ClusterMember m) {
    for (DistCacheListener l : listeners) {
      run(() -> l.memberRemoved(m), "memberRemoved");
    }
  }

  void connected(String address) {
    for (DistCacheListener l : listeners) {
      run(() -> l.connected(address), "connected");
    }
  }

  void disconnected(String address) {
    for (DistCacheListener l : listeners) {
      run(() -> l.disconnected(address), "disconnected");
    }
  }

  private void run(Runnable call, String what) {
    try {
      call.run();
    } catch (RuntimeException e) {
      if (!warned) {
        warned = true;
        log.warn("a DistCacheListener threw from {} (logged once per client; later failures at debug)", what, e);
      } else {
        log.debug("a DistCacheListener threw from {}", what, e);
      }
    }
  }
}
