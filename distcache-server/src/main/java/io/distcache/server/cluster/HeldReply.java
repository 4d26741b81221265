package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import java.util.concurrent.CompletableFuture;

/*
 * Design: the reply to a write the router holds instead of applying it: this node is handing its
 * slots off (SIGTERM, SHUTDOWN), or the write's slot is moving to a joining member. The write is
 * applied later, by whoever owns its slot then, after this node's placement has already changed.
 * A request the same connection sent after it must not be routed before it is applied: under the
 * new placement it would go straight to the new owner (or be read here, before the held write) and
 * overtake it, so a pipelined SET k 1, SET k 2 could leave 1, and a pipelined SET then GET could
 * read the value before the SET, both after the client was told the SET succeeded. So the protocol
 * handlers (RespSession, BinaryRequestHandler) test a pending reply for this type and route the
 * connection's later requests only once it has completed: per connection, as Redis orders a
 * pipeline, and only while a write is held, which is rare and short. On a peer's connection, which
 * carries the forwards of many clients, only later forwards for the same slot wait.
 *
 * A script's reply is one too (ScriptHost): a script runs on its own lane thread, and a command
 * pipelined after EVAL must not run on the event loop before it, as Redis runs them in order.
 *
 * The node that forwarded a held write to us does not know it is held; it keeps its own order
 * (SlotForwards): a request for a slot with forwards on their way to another member waits, with a
 * HeldReply, until they are answered.
 */

/** A reply that completes once a held write has been applied elsewhere; later requests wait for it. */
public final class HeldReply extends CompletableFuture<Frame> {

  /** True when {@code reply} is a held write's, not yet complete: the connection's next requests wait. */
  public static boolean holds(CompletableFuture<Frame> reply) {
    return reply instanceof HeldReply && !reply.isDone();
  }

  /**
   * {@code merged}, the reply combined from {@code parts} (one per owner of a multi-key write), as
   * a HeldReply when a part is held: combining futures would otherwise hide that it is.
   */
  static CompletableFuture<Frame> keepHeld(java.util.List<CompletableFuture<Frame>> parts,
      CompletableFuture<Frame> merged) {
    for (CompletableFuture<Frame> part : parts) {
      if (holds(part)) {
        return of(merged);
      }
    }
    return merged;
  }

  /** {@code reply} as a HeldReply: the connection's next requests wait until it completes. */
  static HeldReply of(CompletableFuture<Frame> reply) {
    HeldReply held = new HeldReply();
    reply.whenComplete((r, e) -> {
      if (e == null) {
        held.complete(r);
      } else {
        held.completeExceptionally(e);
      }
    });
    return held;
  }
}
