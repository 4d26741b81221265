package io.distcache.server.cluster;

import io.distcache.protocol.BufferedPairs;
import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Placement;
import io.distcache.protocol.cluster.Member;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/*
 * Design: a multi-key request may name keys of several owners. Redis Cluster refuses such a
 * request (CROSSSLOT); we serve it, because a cache client should not need to know the ring:
 *
 *   1. group the keys by owner, remembering each key's position in the request
 *   2. one sub-request per owner, all at once: our own group runs on the local store, the others
 *      are forwarded (FORWARDED set, so the owner serves them without looking again)
 *   3. merge when every part has answered: MULTI_GET puts each value back at its key's position,
 *      MULTI_DELETE and MULTI_EXISTS add the counts, MULTI_SET is OK when every part is; the first
 *      part that failed (in owner order) is the reply when any did
 *
 * When every key has one owner, the request goes there whole, unchanged: no decoding beyond the
 * grouping and no merge. A FORWARDED request is served here whole (forward at most once). A ROUTED
 * one is answered NOT_OWNER when we do not own its first key: Redis Cluster clients send a
 * multi-key command to the owner of its first key (Redis would refuse other keys with CROSSSLOT),
 * so a MOVED for any other key would send them to a node that redirects them back. Once the first
 * key is ours, the other keys are split and forwarded as for any request.
 *
 * MULTI_SET_IF_ABSENT across owners is check-then-set, not atomic: first MULTI_EXISTS on every
 * owner; if any key exists the answer is CONDITION_FAILED and nothing is written; otherwise each
 * owner runs MULTI_SET_IF_ABSENT on its own keys (atomic per owner). A key created by another
 * client between the check and the set makes that owner refuse its part and the reply
 * CONDITION_FAILED, while other owners' parts may already be written. On one owner it stays
 * all-or-nothing, as on a single node.
 */

/** Splits multi-key requests by owner and merges the owners' replies in the request's order. */
final class MultiKeyRouting {
  private final ClusterRouter router;

  MultiKeyRouting(ClusterRouter router) {
    this.router = router;
  }

  /** Keys of one owner: their positions in the request and, for pair lists, their values. */
  private static final class Group {
    final List<Integer> positions = new ArrayList<>();
    final List<byte[]> keys = new ArrayList<>();
    final List<byte[]> values = new ArrayList<>();
  }

  CompletableFuture<Frame> route(Frame request) {
    Placement placement = router.placement();
    if (router.alone(placement)) {
      return router.serveIfOwned(request, List.of(), placement);
    }
    Opcode op = request.op();
    boolean pairs = op == Opcode.MULTI_SET || op == Opcode.MULTI_SET_IF_ABSENT;
    List<byte[]> keys;
    try {
      // The keys alone: a pair list's values may be in buffers, copied only if it is split (BufferedPairs).
      keys = pairs ? BufferedPairs.keys(request) : ListCodec.decodeKeys(request.value());
    } catch (ListCodec.MalformedListException e) {
      return done(request.replyError(Status.BAD_REQUEST, e.getMessage()));
    }
    if (request.hasFlag(Flags.FORWARDED)) {
      return router.serveIfOwned(request, keys, placement); // forwarded at most once
    }
    Map<Member, Group> groups = new LinkedHashMap<>();
    for (int i = 0; i < keys.size(); i++) {
      Group g = groups.computeIfAbsent(placement.ownerOf(keys.get(i)), m -> new Group());
      g.positions.add(i);
      g.keys.add(keys.get(i));
    }
    if (request.hasFlag(Flags.ROUTED) && !keys.isEmpty()) {
      // A cluster client routes a multi-key command by its first key; the others are ours to split.
      Member first = placement.ownerOf(keys.get(0));
      if (!router.isSelf(first)) {
        return done(ClusterRouter.notOwner(request, first, placement, KeySlot.of(keys.get(0))));
      }
    }
    if (groups.size() <= 1) {
      Member owner = groups.isEmpty() ? null : groups.keySet().iterator().next();
      if (owner == null) {
        return done(router.serveLocally(request));
      }
      return router.isSelf(owner) ? router.serveIfOwned(request, groups.get(owner).keys, placement)
          : router.forward(owner, request, groups.get(owner).keys);
    }
    if (pairs) {
      values(request, groups.values()); // split across owners: each part is a new pair list of arrays
    }
    return switch (op) {
      case MULTI_GET -> toEveryOwner(request, op, groups, keys.size());
      case MULTI_DELETE, MULTI_EXISTS, MULTI_SET -> toEveryOwner(request, op, groups, 0);
      case MULTI_SET_IF_ABSENT -> setIfAbsent(request, groups);
      default -> throw new IllegalArgumentException(op + " is not a multi-key opcode");
    };
  }

  /** {@code op} sent to every owner's keys at once, the replies merged (see merge). */
  private CompletableFuture<Frame> toEveryOwner(Frame request, Opcode op, Map<Member, Group> groups, int keyCount) {
    return merge(request, op, List.copyOf(groups.values()), owners(groups), sendAll(request, op, groups, true), keyCount);
  }

  private static List<String> owners(Map<Member, Group> groups) {
    return groups.keySet().stream().map(m -> "owner " + m.address()).toList();
  }

  /**
   * One reply to {@code request} ({@code op}) from its parts' replies, part i answering the keys of
   * {@code groups.get(i)} ({@code names.get(i)} in an error): MULTI_GET's values back at their
   * keys' positions, counts added, OK when every part is; the first failed part's reply when one
   * failed. Kept held when a part is (our own part waiting behind forwards of its slots, see
   * ClusterRouter.serveIfOwned): the connection's next request must not overtake it (a reviewer).
   */
  private CompletableFuture<Frame> merge(Frame request, Opcode op, List<Group> groups, List<String> names,
      List<CompletableFuture<Frame>> parts, int keyCount) {
    return HeldReply.keepHeld(parts, CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0])).thenApply(ignored -> {
      Frame failed = firstFailure(parts, Status.OK);
      if (failed != null) {
        if (op != Opcode.MULTI_GET && op != Opcode.MULTI_EXISTS && failed.status() == Status.BUSY
            && parts.stream().anyMatch(p -> p.join().status() == Status.OK)) {
          // "not applied" is about the failed part alone: a client must not retry believing nothing was written.
          return request.replyError(Status.BUSY, failed.valueText() + " (that part only: the command's other keys"
              + " were written)");
        }
        return asReplyTo(request, failed);
      }
      return switch (op) {
        case MULTI_GET -> values(request, groups, names, parts, keyCount);
        case MULTI_DELETE, MULTI_EXISTS -> {
          long sum = 0;
          for (CompletableFuture<Frame> part : parts) {
            sum += part.join().extra(0, 0);
          }
          yield request.replyOk(sum);
        }
        default -> request.replyOk();
      };
    }));
  }

  private Frame values(Frame request, List<Group> groups, List<String> names, List<CompletableFuture<Frame>> parts,
      int keyCount) {
    byte[][] values = new byte[keyCount][];
    for (int p = 0; p < parts.size(); p++) {
      Frame reply = parts.get(p).join();
      List<byte[]> got;
      try {
        got = ListCodec.decodeValues(reply.value());
      } catch (ListCodec.MalformedListException e) {
        return request.replyError(Status.INTERNAL_ERROR, names.get(p) + " sent a malformed MULTI_GET reply: " + e.getMessage());
      }
      List<Integer> positions = groups.get(p).positions;
      if (got.size() != positions.size()) {
        return request.replyError(Status.INTERNAL_ERROR, names.get(p) + " returned " + got.size() + " values for "
            + positions.size() + " keys");
      }
      for (int i = 0; i < got.size(); i++) {
        values[positions.get(i)] = got.get(i);
      }
    }
    // Every part fitted a frame, but together they may not.
    Frame tooLarge = LocalExecutor.multiGetTooLarge(request, Arrays.asList(values), router.maxFrameBytes());
    return tooLarge != null ? tooLarge : request.replyValue(ListCodec.encodeValues(Arrays.asList(values)));
  }

  /**
   * {@code part}, a multi-key request for one owner ({@code keys}, in order), split by slot: one
   * request per slot of its keys, given to {@code send} with that slot, and their replies merged
   * into one reply to {@code part}. How a part whose owner could not be connected to waits for each
   * slot's next owner (ClusterRouter.forwardPart): per slot, the unit in which a cluster keeps
   * requests in order and applies them atomically (Redis Cluster's MSET and DEL are one slot's).
   */
  CompletableFuture<Frame> bySlot(Frame part, List<byte[]> keys, java.util.function.BiFunction<Integer, Frame,
      CompletableFuture<Frame>> send) {
    Opcode op = part.op();
    Map<Integer, Group> groups = new LinkedHashMap<>();
    for (int i = 0; i < keys.size(); i++) {
      Group g = groups.computeIfAbsent(KeySlot.of(keys.get(i)), s -> new Group());
      g.positions.add(i);
      g.keys.add(keys.get(i));
    }
    boolean pairs = op == Opcode.MULTI_SET || op == Opcode.MULTI_SET_IF_ABSENT;
    if (pairs) {
      values(part, groups.values());
    }
    List<CompletableFuture<Frame>> parts = new ArrayList<>(groups.size());
    List<String> names = new ArrayList<>(groups.size());
    for (Map.Entry<Integer, Group> e : groups.entrySet()) {
      parts.add(send.apply(e.getKey(), part(part, op, e.getValue(), pairs)));
      names.add("slot " + e.getKey() + "'s owner");
    }
    return merge(part, op, List.copyOf(groups.values()), names, parts, keys.size());
  }

  /** Each group's values, from {@code request}'s pair list (well-formed: BufferedPairs.keys checked it). */
  private static void values(Frame request, java.util.Collection<Group> groups) {
    List<byte[]> items = ListCodec.decodePairs(request.value());
    for (Group g : groups) {
      for (int position : g.positions) {
        g.values.add(items.get(2 * position + 1));
      }
    }
  }

  /** The sub-request of {@code op} for one group's keys: the request's flags (EXPIRY_ABSOLUTE) and extras (a ttl), never ROUTED. */
  private static Frame part(Frame request, Opcode op, Group g, boolean pairs) {
    byte[] list = pairs ? ListCodec.encodePairs(g.keys, g.values) : ListCodec.encodeKeys(g.keys);
    return new Frame(op.code(), request.flags() & ~Flags.ROUTED, request.requestId(), Status.OK,
        op == request.op() ? request.extras() : Frame.NO_EXTRAS, Frame.EMPTY, list);
  }

  /** Check-then-set across owners; see the design note for what is and is not guaranteed. */
  private CompletableFuture<Frame> setIfAbsent(Frame request, Map<Member, Group> groups) {
    Frame check = Frame.request(Opcode.MULTI_EXISTS, 0, null, Frame.EMPTY).withRequestId(request.requestId());
    // Each owner's check goes to that owner, never waits for a successor nor reads a replica: the
    // set phase goes to the owners grouped now, so a check answered elsewhere let a live owner's part
    // be written while a dead one's failed (a reviewer).
    List<CompletableFuture<Frame>> checks = sendAll(check, Opcode.MULTI_EXISTS, groups, false);
    CompletableFuture<Frame> result = merge(check, Opcode.MULTI_EXISTS, List.copyOf(groups.values()), owners(groups),
        checks, 0).thenCompose(existing -> {
      if (existing.status() != Status.OK) {
        return done(asReplyTo(request, existing));
      }
      if (existing.extra(0, 0) > 0) {
        return done(request.reply(Status.CONDITION_FAILED));
      }
      return toEveryOwner(request, Opcode.MULTI_SET_IF_ABSENT, groups, 0);
    });
    // Held, always: its set phase starts only once the check is answered, and a request the
    // connection pipelined after it, routed at once, could land between the two (a reviewer: SET k1 x
    // applied before the MSETNX's set phase, which then failed with k2 written).
    return HeldReply.of(result);
  }

  /**
   * One sub-request of {@code op} per owner, in owner order; our own runs here, now. {@code
   * mayWait}: a part whose owner cannot be connected to may wait for its slots' next owners, or
   * read their replicas (ClusterRouter.forwardPart); else it fails at once, as MSETNX's phases need.
   */
  private List<CompletableFuture<Frame>> sendAll(Frame request, Opcode op, Map<Member, Group> groups, boolean mayWait) {
    List<CompletableFuture<Frame>> parts = new ArrayList<>(groups.size());
    boolean pairs = op == Opcode.MULTI_SET || op == Opcode.MULTI_SET_IF_ABSENT;
    for (Map.Entry<Member, Group> e : groups.entrySet()) {
      Group g = e.getValue();
      Frame part = part(request, op, g, pairs);
      parts.add(router.isSelf(e.getKey()) ? router.serveIfOwned(part, g.keys, router.placement())
          : mayWait ? router.forward(e.getKey(), part, g.keys) : router.forwardAtOnce(e.getKey(), part, g.keys));
    }
    return parts;
  }

  /** The first part whose status is not {@code expected}, or null. */
  private static Frame firstFailure(List<CompletableFuture<Frame>> parts, Status expected) {
    for (CompletableFuture<Frame> part : parts) {
      Frame reply = part.join();
      if (reply.status() != expected) {
        return reply;
      }
    }
    return null;
  }

  private static Frame asReplyTo(Frame request, Frame reply) {
    return new Frame(request.opcode(), reply.flags(), request.requestId(), reply.status(), reply.extras(), reply.key(),
        reply.value());
  }

  private static CompletableFuture<Frame> done(Frame reply) {
    return CompletableFuture.completedFuture(reply);
  }
}
