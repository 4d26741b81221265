package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.bus.Peers;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the cancels a joining member owes the owners it asked to prepare its join (JoinDriver).
 * A round of MIGRATE_PREPARE that does not end in the join is cancelled at every owner it asked,
 * and until an owner hears the cancel it goes on holding for this member: the writes of the slots
 * this member would take over fail past 5 s, those of the slots it would replicate wait for its
 * stream, and FLUSH is refused, also at an owner it takes no slot from (an empty hold). The owner
 * cannot end a hold on a timer while this member lives: the member may have joined on the strength
 * of the owner's OK, and its join reaches the owner at no bounded time; a hold dropped before it
 * does lets the owner acknowledge a write that the replica the join displaces drops, with the
 * owner as its only copy (review finding F3), or apply one of a slot the member owns already. The
 * member gone from the placement (declared dead, or left) ends every hold for it on every owner.
 * So what needs the cancel is a member that lives on, and it sends each cancel again, every
 * RETRY_NANOS, until the owner answers OK: a cancel lost with its connection used to leave the
 * hold until the member's next round, which never came if its copy stopped being whole meanwhile.
 *
 * A cancel is owed until answered, until the owner is gone from this member's placement (its holds
 * went with it), or until a later round asks that owner again: that prepare takes the hold over,
 * and a cancel of the older round that reaches the owner late must not end it. Each request names
 * its round (MIGRATE_PREPARE's fourth extra) and the owner ignores a cancel older than its hold's
 * round and refuses a prepare of a round already cancelled (Replicator.prepareMigration), so the
 * order in which a cancel and a prepare arrive, on one connection or two, does not matter.
 */

/** The MIGRATE_PREPARE cancels a joining member still owes the owners it asked. Thread-safe. */
final class MigrationCancels {
  private static final Logger log = LoggerFactory.getLogger(MigrationCancels.class);
  /** How often an unanswered cancel is sent again. */
  static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final long LOG_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final Peers peers;
  /** Per owner, the cancel it has not answered yet. */
  private final Map<Member, Owed> owed = new ConcurrentHashMap<>();
  /** Membership loop only: when the owed cancels were last looked at, and when a resend was last logged. */
  private long lastRetry;
  private long lastLog;
  private boolean logged;

  /** A cancel not answered yet; {@code due} once a retry found it still owed (then it is sent at each retry). */
  private record Owed(Frame cancel, boolean due) {}

  MigrationCancels(Peers peers) {
    this.peers = peers;
  }

  /** Sends {@code cancel} (a MIGRATE_PREPARE with the cancel extra) to {@code owner}, and again until answered. */
  void cancel(Member owner, Frame cancel) {
    owed.put(owner, new Owed(cancel, false));
    send(owner, cancel);
  }

  /** A new round asks {@code owner} to prepare: the cancel owed it is superseded. */
  void asking(Member owner) {
    owed.remove(owner);
  }

  /**
   * Called each tick on the membership loop, {@code now} in nanoseconds. Every RETRY_NANOS, each
   * cancel still owed to an owner in {@code placement} is sent again, if it was owed at the last
   * look already (a cancel sent just before is given that long to be answered); one owed to an
   * owner gone from the placement is dropped.
   */
  void retry(long now, Placement placement) {
    if (owed.isEmpty() || now - lastRetry < RETRY_NANOS) {
      return;
    }
    lastRetry = now;
    for (Map.Entry<Member, Owed> e : owed.entrySet()) {
      Member owner = e.getKey();
      Owed o = e.getValue();
      if (!placement.contains(owner)) {
        owed.remove(owner, o); // gone: its holds went with it
      } else if (!o.due()) {
        owed.replace(owner, o, new Owed(o.cancel(), true));
      } else {
        if (!logged || now - lastLog >= LOG_NANOS) {
          logged = true;
          lastLog = now;
          log.info("joining: {} has not answered this node's cancel of a join round yet; sending it again",
              owner.address());
        }
        send(owner, o.cancel());
      }
    }
  }

  /** The owners a cancel is still owed to. */
  int owed() {
    return owed.size();
  }

  private void send(Member owner, Frame cancel) {
    CompletableFuture<Frame> sent;
    try {
      sent = peers.send(owner.address(), cancel);
    } catch (RuntimeException e) {
      // Still owed, sent again at the next retry: thrown, it would skip the other owners' cancels
      // (or the rest of the membership tick).
      return;
    }
    sent.whenComplete((reply, error) -> {
      if (error == null && reply.status() == Status.OK) {
        // Unless a later round or a later cancel replaced it meanwhile.
        owed.computeIfPresent(owner, (k, o) -> o.cancel() == cancel ? null : o);
      }
    });
  }
}
