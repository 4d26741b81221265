package io.distcache.server.cluster;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.bus.Peers;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/*
 * Design: the keyspace commands of a plain Redis connection (DBSIZE, FLUSHALL, FLUSHDB, KEYS,
 * SCAN, RANDOMKEY) cover the whole cluster, because a plain client (Spring's
 * @CacheEvict(allEntries = true), an operator's redis-cli) has no other way to reach every node.
 * Each is the node-local opcode (SIZE, FLUSH, SCAN, RANDOM_KEY) sent to every member of the
 * current placement: our own part runs on the local store, the others go out on the peer
 * connections flagged FORWARDED (node-local opcodes are served by the receiver whatever its
 * placement says, so nothing is forwarded twice), and the parts are combined here.
 *
 * These parts are not counted in forwardedRequests(): that counter measures how well clients route
 * keyed requests, and a fan-out is no routing failure.
 *
 * SCAN's cursor walks the members in id order: the high bits hold the member's index in the
 * placement, the low 48 bits that member's own cursor (a store cursor is at most 2^34, see
 * OffHeapStore.scan). A member that finishes hands over to the next with cursor 0; the last one
 * ends the scan. When the placement changes during a scan, the index may name another member
 * than before: keys may then be returned twice or, for keys whose owner changed, not at all
 * (they were dropped or moved with their slot anyway). Redis's own guarantee (every key present
 * for the whole scan is returned) holds while the members stay the same.
 *
 * A member that cannot be reached makes the whole command fail (BUSY naming it): a partial count
 * or a partial flush that looks like success would be worse than an error.
 */

/** Node-local opcodes sent to every member and combined: the cluster-wide keyspace commands. */
public final class ClusterWide {
  /** Bits of a cluster SCAN cursor that hold the member's own cursor. */
  static final int NODE_CURSOR_BITS = 48;
  static final long NODE_CURSOR_MASK = (1L << NODE_CURSOR_BITS) - 1;
  /** Members a cursor can name: the index stays below 2^15 so the cursor stays positive. */
  static final int MAX_MEMBERS = 1 << 15;

  private final ClusterRouter router;
  private final Peers peers;

  public ClusterWide(ClusterRouter router, Peers peers) {
    if (router == null || peers == null) {
      throw new IllegalArgumentException("router and peers are required");
    }
    this.router = router;
    this.peers = peers;
  }

  /** DBSIZE: OK with extras [keys on every member]. */
  public CompletableFuture<Frame> size() {
    Frame request = Frame.request(Opcode.SIZE, 0, null, null);
    List<CompletableFuture<Frame>> parts = toEveryMember(request);
    return allOf(parts).thenApply(ignored -> {
      Frame failed = firstFailure(parts);
      if (failed != null) {
        return failed;
      }
      long sum = 0;
      for (CompletableFuture<Frame> p : parts) {
        sum += p.join().extra(0, 0);
      }
      return request.replyOk(sum);
    });
  }

  /**
   * FLUSHALL / FLUSHDB: OK once every member has emptied its store. It starts once this node's
   * forwards in flight have been answered (requests held for an owner that cannot be connected to
   * among them): a client's SETs sent before it, held and then applied by their slot's new owner,
   * outlived an acknowledged FLUSHALL. The connection's later requests wait for it (HeldReply).
   */
  public CompletableFuture<Frame> flush() {
    CompletableFuture<Void> before = router.forwardsAnswered();
    return before.isDone() ? flushNow() : HeldReply.of(before.thenCompose(x -> flushNow()));
  }

  /** True while this node has forwards in flight (held ones included). */
  public boolean forwardsInFlight() {
    return router.forwardsInFlight();
  }

  private CompletableFuture<Frame> flushNow() {
    Frame request = Frame.request(Opcode.FLUSH, 0, null, null);
    List<CompletableFuture<Frame>> parts = toEveryMember(request);
    return allOf(parts).thenApply(ignored -> {
      Frame failed = firstFailure(parts);
      return failed != null ? failed : request.replyOk();
    });
  }

  /** RANDOMKEY: OK value:[a key of a random member that has keys] | NOT_FOUND when none has. */
  public CompletableFuture<Frame> randomKey() {
    Frame request = Frame.request(Opcode.RANDOM_KEY, 0, null, null);
    List<CompletableFuture<Frame>> parts = toEveryMember(request);
    return allOf(parts).thenApply(ignored -> {
      List<Frame> found = new ArrayList<>();
      for (CompletableFuture<Frame> p : parts) {
        Frame f = p.join();
        if (f.status() == Status.OK) {
          found.add(f);
        } else if (f.status() != Status.NOT_FOUND) {
          return f;
        }
      }
      return found.isEmpty() ? request.reply(Status.NOT_FOUND)
          : found.get(ThreadLocalRandom.current().nextInt(found.size()));
    });
  }

  /**
   * One SCAN step over the whole cluster: OK value:[keys, ListCodec] extras:[next cluster cursor,
   * 0 when the walk is over]; BAD_REQUEST for a cursor no member can have produced.
   */
  public CompletableFuture<Frame> scan(long cursor, int count) {
    return scan(cursor, count, 0);
  }

  /** Like {@link #scan(long, int)}, keeping only keys of ValueType code {@code typeFilter - 1} (0: any). */
  public CompletableFuture<Frame> scan(long cursor, int count, long typeFilter) {
    Frame request = Frame.request(Opcode.SCAN, 0, null, null);
    List<Member> members = members();
    int index = (int) (cursor >>> NODE_CURSOR_BITS);
    if (cursor < 0 || index >= members.size()) {
      // Past the last member (or the placement shrank since): the walk is over.
      return done(request.replyValue(ListCodec.encodeKeys(List.of()), 0));
    }
    long nodeCursor = cursor & NODE_CURSOR_MASK;
    Frame step = Frame.request(Opcode.SCAN, 0, null, null, nodeCursor, count, typeFilter);
    return send(members.get(index), step).thenApply(reply -> {
      if (reply.status() != Status.OK) {
        return reply;
      }
      long next = reply.extra(0, 0);
      if (next < 0 || next > NODE_CURSOR_MASK) {
        return request.replyError(Status.INTERNAL_ERROR, "member " + members.get(index).address()
            + " returned the scan cursor " + next + ", above the limit " + NODE_CURSOR_MASK);
      }
      long clusterNext;
      if (next != 0) {
        clusterNext = ((long) index << NODE_CURSOR_BITS) | next;
      } else {
        clusterNext = index + 1 < members.size() ? (long) (index + 1) << NODE_CURSOR_BITS : 0;
      }
      return request.replyValue(reply.value(), clusterNext);
    });
  }

  /**
   * KEYS: every key of every member that {@code filter} accepts, as OK value:[keys, ListCodec];
   * BAD_REQUEST once the accepted keys exceed {@code maxBytes} (the entry node holds them all, so
   * an unbounded KEYS * over a large cluster could exhaust its heap; SCAN has no such limit).
   * Each member is walked with SCAN steps of {@code batch} keys, all members at once; the filter
   * runs on each batch as it arrives, so only matching keys are held.
   */
  public CompletableFuture<Frame> keys(Predicate<byte[]> filter, int batch, long maxBytes) {
    Frame request = Frame.request(Opcode.SCAN, 0, null, null);
    List<Member> members = members();
    List<CompletableFuture<Frame>> parts = new ArrayList<>(members.size());
    List<List<byte[]>> found = new ArrayList<>(members.size());
    Budget budget = new Budget(maxBytes);
    for (Member m : members) {
      List<byte[]> out = new ArrayList<>();
      found.add(out);
      parts.add(walk(m, 0, batch, filter, out, budget));
    }
    return allOf(parts).thenApply(ignored -> {
      Frame failed = firstFailure(parts);
      if (failed != null) {
        return failed;
      }
      List<byte[]> all = new ArrayList<>();
      found.forEach(all::addAll);
      return request.replyValue(ListCodec.encodeKeys(all));
    });
  }

  /**
   * Scans {@code member} from {@code cursor} to the end, adding accepted keys to {@code out}. Steps
   * that complete at once (our own store) loop here rather than nest, so a large local store
   * cannot deepen the stack.
   */
  private CompletableFuture<Frame> walk(Member member, long cursor, int batch, Predicate<byte[]> filter,
      List<byte[]> out, Budget budget) {
    long at = cursor;
    while (true) {
      Frame step = Frame.request(Opcode.SCAN, 0, null, null, at, batch);
      if (budget.exceeded()) {
        return done(budget.refusal(step)); // another member's keys used it up: stop walking
      }
      CompletableFuture<Frame> sent = send(member, step);
      if (!sent.isDone()) {
        return sent.thenCompose(reply -> {
          Frame end = take(member, step, reply, filter, out, budget);
          return end != null ? done(end) : walk(member, reply.extra(0, 0), batch, filter, out, budget);
        });
      }
      Frame reply = sent.join();
      Frame end = take(member, step, reply, filter, out, budget);
      if (end != null) {
        return done(end);
      }
      at = reply.extra(0, 0);
    }
  }

  /** Adds the accepted keys of one SCAN reply; the reply that ends the walk (last step or error), else null. */
  private static Frame take(Member member, Frame step, Frame reply, Predicate<byte[]> filter, List<byte[]> out,
      Budget budget) {
    if (reply.status() != Status.OK) {
      return reply;
    }
    List<byte[]> keys;
    try {
      keys = ListCodec.decodeKeys(reply.value());
    } catch (ListCodec.MalformedListException e) {
      return step.replyError(Status.INTERNAL_ERROR,
          "member " + member.address() + " sent a malformed SCAN reply: " + e.getMessage());
    }
    for (byte[] k : keys) {
      if (filter.test(k)) {
        if (!budget.take(k.length)) {
          return budget.refusal(step);
        }
        out.add(k);
      }
    }
    return reply.extra(0, 0) == 0 ? reply : null;
  }

  /** The bytes of keys one KEYS may hold, shared by its members' walks (on several threads). */
  private static final class Budget {
    private final long max;
    private final AtomicLong used = new AtomicLong();

    Budget(long max) {
      this.max = max;
    }

    boolean take(int bytes) {
      return used.addAndGet(bytes) <= max;
    }

    boolean exceeded() {
      return used.get() > max;
    }

    Frame refusal(Frame step) {
      return step.replyError(Status.BAD_REQUEST, "KEYS across the cluster matched more than " + max
          + " bytes of keys, the limit; use SCAN");
    }
  }

  /**
   * STATS from every member of the placement (this node's own answered locally, without the
   * routing lines), by member; a member that cannot be reached answers BUSY. For the admin page.
   */
  public java.util.Map<Member, CompletableFuture<Frame>> statsOfEveryMember() {
    java.util.Map<Member, CompletableFuture<Frame>> out = new java.util.LinkedHashMap<>();
    for (Member m : members()) {
      out.put(m, send(m, Frame.request(io.distcache.protocol.Opcode.STATS, null)));
    }
    return out;
  }

  /**
   * SCRIPT KILL for a plain connection: SCRIPT_KILL to every member, since the script it means may
   * run on the owner its EVAL was forwarded to. OK when some member stopped one; else
   * CONDITION_FAILED when one runs but has written (UNKILLABLE); else NOT_FOUND (NOTBUSY).
   */
  public CompletableFuture<Frame> scriptKill() {
    return scriptKill(false);
  }

  /**
   * SCRIPT KILL ({@code function} false) or FUNCTION KILL (true) on every member; as
   * {@link #scriptKill()}, and SCRIPT_BUSY when no member stopped one but one runs the other kind.
   */
  public CompletableFuture<Frame> scriptKill(boolean function) {
    Frame request = Frame.request(io.distcache.protocol.Opcode.SCRIPT_KILL, 0, null, null,
        function ? ScriptHost.KILL_FUNCTION : 0);
    List<CompletableFuture<Frame>> parts = new ArrayList<>();
    for (Member m : members()) {
      parts.add(router.self() == null || router.isSelf(m) ? done(router.serveLocally(request))
          : send(m, request));
    }
    if (parts.isEmpty()) {
      parts.add(done(router.serveLocally(request)));
    }
    return allOf(parts).thenApply(ignored -> {
      Status best = Status.NOT_FOUND;
      Frame busy = null;
      for (CompletableFuture<Frame> p : parts) {
        Status s = p.join().status();
        if (s == Status.OK) {
          return request.replyOk();
        }
        if (s == Status.CONDITION_FAILED) {
          best = s;
        }
        if (s == Status.SCRIPT_BUSY) {
          busy = p.join();
        }
      }
      return best == Status.NOT_FOUND && busy != null ? busy : request.reply(best);
    });
  }

  /** The placement's members in id order; this node alone before the placement is known. */
  private List<Member> members() {
    Placement placement = router.placement();
    if (placement.isEmpty()) {
      Member self = router.self();
      return self == null ? List.of() : List.of(self);
    }
    return placement.members();
  }

  private List<CompletableFuture<Frame>> toEveryMember(Frame request) {
    List<Member> members = members();
    List<CompletableFuture<Frame>> parts = new ArrayList<>(members.size());
    if (members.isEmpty()) {
      parts.add(router.serveNodeLocal(request));
    }
    for (Member m : members) {
      parts.add(send(m, request));
    }
    return parts;
  }

  /** Our own part on the local store, another member's on its peer connection; never exceptional. */
  private CompletableFuture<Frame> send(Member member, Frame request) {
    if (router.self() == null || router.isSelf(member)) {
      return router.serveNodeLocal(request);
    }
    return peers.send(member.address(), request.withFlags(Flags.FORWARDED)).handle((reply, error) -> {
      if (error == null) {
        return reply;
      }
      Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
      return request.replyError(Status.BUSY, "member " + member.address() + " unreachable: " + cause.getMessage());
    });
  }

  private static Frame firstFailure(List<CompletableFuture<Frame>> parts) {
    for (CompletableFuture<Frame> p : parts) {
      Frame f = p.join();
      if (f.status() != Status.OK) {
        return f;
      }
    }
    return null;
  }

  private static CompletableFuture<Void> allOf(List<CompletableFuture<Frame>> parts) {
    return CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0]));
  }

  private static CompletableFuture<Frame> done(Frame reply) {
    return CompletableFuture.completedFuture(reply);
  }
}
