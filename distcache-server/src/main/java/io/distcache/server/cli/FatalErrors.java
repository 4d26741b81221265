package io.distcache.server.cli;

import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: a thread that dies of an Error leaves the node holding its port while part of it is gone.
 * A tester rebuilt the jar that two running nodes ran from; their event loops died of
 * NoClassDefFoundError, and the nodes kept their ports open, answered nothing and held every
 * client's request for ten minutes; SIGTERM failed the same way. A node that dies is restarted by
 * its supervisor and its peers take its slots over; one that lingers is neither. So the command
 * line (not an application embedding a node, which owns its process) halts on an Error that
 * escapes any thread, after saying so. An uncaught exception is logged and only ends its thread,
 * as the JVM's default does: Netty's loops catch what their tasks throw, so an exception that
 * kills a thread is rare.
 *
 * Halt, not exit: shutdown hooks run node.close(), which needs the classes and threads that
 * may be gone, and would wait on them.
 */
final class FatalErrors implements Thread.UncaughtExceptionHandler {
  /** The exit code of a node halted by an Error (sysexits' EX_SOFTWARE). */
  static final int EXIT_CODE = 70;

  private static final Logger log = LoggerFactory.getLogger(FatalErrors.class);

  private final IntConsumer halt;

  FatalErrors(IntConsumer halt) {
    this.halt = halt;
  }

  /** Installs a handler that halts this JVM; for the command line's process only. */
  static void install() {
    Thread.setDefaultUncaughtExceptionHandler(new FatalErrors(code -> Runtime.getRuntime().halt(code)));
  }

  @Override
  public void uncaughtException(Thread t, Throwable e) {
    if (!(e instanceof Error)) {
      log.error("thread {} ended by an uncaught exception", t.getName(), e);
      return;
    }
    try {
      log.error("thread {} died of {}: the node is not whole any more; exiting with code {}", t.getName(), e, EXIT_CODE, e);
    } catch (Throwable logFailed) {
      // The logger's classes may be what is missing (a rewritten jar): the terminal still works.
      System.err.println("distcache: thread " + t.getName() + " died of " + e + "; exiting with code " + EXIT_CODE);
    }
    halt.accept(EXIT_CODE);
  }
}
