package io.distcache.server.cluster;

import io.netty.util.concurrent.EventExecutor;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/*
 * Design: wakes work a connection parked behind a script that holds the node (ScriptHost.holdsClients)
 * instead of waiting for it on its event loop, which serves many connections: a Redis connection's
 * unrun commands (resp/ScriptWait), a blocked pop's retry (resp/BlockingPop), a binary or forwarded
 * request (net/BinaryRequestHandler). The wake runs on the connection's event loop once the hold ends
 * (ScriptHost.released) and, meanwhile, every 10 ms at most (ScriptHost.nanosUntilRecheck), so a
 * script that passes its busy threshold (or a threshold lowered by CONFIG SET) is noticed and the
 * parked work answered BUSY. At most one callback per hold and one pending timer, however often it
 * is armed; the woken code checks again and re-arms while the node is still held.
 */

/** Wakes something parked behind a running script, on its event loop. Armed on that loop only. */
public final class ScriptParking {
  private final EventExecutor loop;
  private final Runnable wake;
  // Event loop only.
  private CompletableFuture<Void> wakeOn;
  private boolean timerSet;

  public ScriptParking(EventExecutor loop, Runnable wake) {
    this.loop = loop;
    this.wake = wake;
  }

  /** Arranges a wake-up after {@code h}'s current hold (or its next look at the threshold). Event loop only. */
  public void wakeAfter(ScriptHost h) {
    CompletableFuture<Void> end = h.released();
    try {
      if (end != wakeOn) {
        wakeOn = end;
        end.whenComplete((v, e) -> execute(wake));
      }
      if (!timerSet) {
        timerSet = true;
        loop.schedule(() -> {
          timerSet = false;
          wake.run();
        }, h.nanosUntilRecheck(), TimeUnit.NANOSECONDS);
      }
    } catch (RejectedExecutionException shuttingDown) {
      timerSet = false; // the loop is gone, and the connection with it
    }
  }

  private void execute(Runnable task) {
    try {
      loop.execute(task);
    } catch (RejectedExecutionException shuttingDown) {
      // the loop is gone, and the connection with it
    }
  }
}
