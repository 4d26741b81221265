package io.distcache.server.resp;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.TransactionCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/*
 * Design: MULTI/EXEC on top of the one request path. While a connection is in MULTI, every command
 * but the few Redis runs at once is checked (name, arity) and queued, never run: a queued write can
 * therefore never be applied by a transaction that fails. EXEC replays the queued commands through
 * their ordinary handlers with the session in capture mode (RespSession.capture): instead of going
 * to the router, each binary request a handler builds is collected, with the renderer that turns
 * its reply into the command's Redis reply. The collected requests travel as one TRANSACTION frame
 * (TransactionCodec), with the watched keys' versions as its conditions, through the router's one
 * serve-or-forward decision: the owner of the slot runs it under the TransactionGate, checking the
 * conditions first, and answers every request at once. EXEC then renders the replies in order.
 *
 * So a transaction is atomic for its keys wherever it runs, and a plain connection's transaction is
 * forwarded whole. What does not become a data request (PING, ECHO, CLIENT, DBSIZE, KEYS, ...) is
 * answered while EXEC collects, before the data requests run; a command that needs a second request
 * after seeing the first one's answer (GETEX with an expiry, EXPIRE ... XX LT) sends that second
 * one after the transaction. docs/PROTOCOL.md lists both.
 *
 * EVAL, EVALSHA, their _RO forms and FCALL are queued too, and at EXEC become SCRIPT requests in
 * the batch (the EVAL and SCRIPT LOAD bodies the cache lacks are compiled off the event loop first,
 * ScriptCompiler, and the queue replayed once they are, with the connection's next commands waiting) (an EVALSHA this node has no script for fails its own slot with NOSCRIPT, as Redis
 * answers at EXEC). Their declared keys join the one-slot rule; the owner runs such a batch whole
 * on its script lane, holding what a script holds (ScriptHost.holdingAll), so no other client's
 * command runs between the transaction's commands or its scripts' calls.
 *
 * WATCH reads each key's version and expiry (VERSION) from its owner; EXEC sends them as
 * conditions, so a key written, deleted, expired, evicted or flushed since, or whose expiry
 * changed, makes EXEC answer a null array with nothing run.
 */

/** MULTI, EXEC, DISCARD, WATCH, UNWATCH. */
final class TransactionCommands {
  private TransactionCommands() {}

  /** Commands Redis runs at once inside MULTI instead of queueing them. */
  private static final Set<String> RUN_AT_ONCE = Set.of("exec", "discard", "multi", "watch", "quit", "reset");
  /** Keys one connection may watch at once. */
  static final int MAX_WATCHED_KEYS = 65_536;
  /**
   * What a queued argument costs beyond its bytes, for the queue bound; a large one also the whole
   * heap regions it takes (ArrayHeap).
   */
  private static final int PER_ARG_OVERHEAD = 16;
  /**
   * What a watched key costs beyond its bytes: its copy's array header, its entry in the watch
   * list and the version read with it (about 120 bytes measured; counted as 16 before, 70
   * connections of 65,536 watched keys passed the node-wide budget and filled the heap, a tester).
   */
  static final int WATCHED_KEY_OVERHEAD = 128;

  static void register(CommandTable.Registry r) {
    r.add("multi", 1, "noscript loading stale fast allow_busy", "transactions", TransactionCommands::multi);
    r.add("exec", 1, "noscript loading stale skip_slowlog", "transactions", TransactionCommands::exec);
    r.add("discard", 1, "noscript loading stale fast allow_busy", "transactions", TransactionCommands::discard);
    r.add("watch", -2, "noscript loading stale fast allow_busy", 1, -1, 1, "transactions", TransactionCommands::watch);
    r.add("unwatch", 1, "noscript loading stale fast allow_busy", "transactions", TransactionCommands::unwatch);
  }

  /**
   * One connection's transaction: the queue while in MULTI, and the watched keys. Their bytes are
   * also taken from the node's budget for connection state ({@code memory}), given back when dropped.
   */
  static final class State {
    private final ClientMemory.Account memory;
    boolean inMulti;
    /** An error while queueing: EXEC answers EXECABORT. */
    boolean dirty;
    final List<byte[][]> queued = new ArrayList<>();
    /** The queued arguments' bytes, each with PER_ARG_OVERHEAD: bounded by the frame limit. */
    long queuedBytes;
    /** What the queue took from the node-wide budget: queuedBytes and the whole regions of large arguments. */
    long queuedHeap;
    final List<Watch> watches = new ArrayList<>();
    /** The watched keys' bytes, each counted with WATCHED_KEY_OVERHEAD. */
    long watchedBytes;

    /** The node's counters of watching clients and watched keys (INFO clients), or null. */
    private final RespStats stats;

    State(ClientMemory.Account memory, RespStats stats) {
      this.memory = memory;
      this.stats = stats;
    }

    void discard() {
      inMulti = false;
      dirty = false;
      queued.clear();
      memory.release(queuedHeap);
      queuedBytes = 0;
      queuedHeap = 0;
      unwatch();
    }

    void unwatch() {
      if (stats != null) {
        stats.unwatched(watches.size());
      }
      watches.clear();
      memory.release(watchedBytes);
      watchedBytes = 0;
    }
  }

  /** A watched key and the answer to its VERSION request. */
  record Watch(byte[] key, CompletableFuture<Frame> version) {}

  /** True when {@code args} is to be queued rather than run (the connection is in MULTI). */
  static boolean queues(RespSession s, byte[][] args) {
    if (!s.transaction().inMulti) {
      return false;
    }
    CommandSpec spec = s.commands().lookup(args[0]);
    return spec == null || !RUN_AT_ONCE.contains(spec.name());
  }

  /**
   * Inside MULTI, the commands Redis runs at once (EXEC, DISCARD, MULTI, WATCH, ...) still get its
   * queue-time checks first: one that fails them (wrong arity) flags the transaction as a queued
   * command would, and a failing EXEC discards it at once with EXECABORT, as Redis's rejectCommand
   * does. Their own errors when run (nested MULTI, WATCH inside MULTI) flag nothing, as in Redis.
   */
  static void checkRunAtOnce(RespSession s, byte[][] args) {
    State t = s.transaction();
    try {
      s.commands().check(args);
    } catch (CommandException e) {
      t.dirty = true;
      if (s.commands().lookup(args[0]) != null && "exec".equals(s.commands().lookup(args[0]).name())) {
        t.discard();
        String why = e.getMessage().startsWith("ERR ") ? e.getMessage().substring(4) : e.getMessage();
        throw new CommandException("EXECABORT Transaction discarded because of: " + why);
      }
      throw e;
    }
  }

  /** Queues a command after Redis's queue-time checks; an error flags the transaction. */
  static void queue(RespSession s, byte[][] args) {
    State t = s.transaction();
    try {
      CommandTable.Checked checked = s.commands().check(args);
      // Redis checks permissions when it queues: a denied command aborts the EXEC, runs nothing.
      AclCheck.check(s, checked.top(), checked.spec(), checked.fullName(), args);
      movedIfElsewhere(s, checked.spec(), args);
      long bytes = 0;
      long heap = 0; // what the node-wide budget counts: large arguments take whole G1 regions
      for (byte[] a : args) {
        bytes += a.length + PER_ARG_OVERHEAD;
        heap += ArrayHeap.excess(a.length);
      }
      long limit = s.context().limits().maxRequestBytes();
      if (t.queuedBytes + bytes > limit) {
        throw new CommandException("ERR transaction of more than " + limit
            + " bytes queued; the limit is the node's request size (max frame)");
      }
      s.memory().take(bytes + heap, "queueing this command");
      t.queued.add(args);
      t.queuedBytes += bytes;
      t.queuedHeap += bytes + heap;
    } catch (CommandException e) {
      t.dirty = true;
      throw e;
    }
    s.out().simple("QUEUED");
  }

  /**
   * Redis Cluster answers a queued command whose key another node owns with -MOVED at once, and the
   * EXEC with -EXECABORT, so a cluster client sends the whole transaction again to the owner.
   * Answered MOVED only at EXEC, a client that follows it sent the owner a lone EXEC ("EXEC without
   * MULTI"; a tester). Only on a connection routed by a cluster map, as for any keyed command: a
   * plain connection's transaction is forwarded whole at EXEC. Not after READONLY (a replica may
   * answer its reads) nor over TLS (the owner's TLS port is found when the EXEC is routed).
   */
  private static void movedIfElsewhere(RespSession s, CommandSpec spec, byte[][] args) {
    io.distcache.server.cluster.ClusterView cluster = s.context().cluster();
    if (cluster == null || s.tlsClient() || s.routing().readOnly() || CommandKeys.movable(spec)) {
      return;
    }
    List<byte[]> keys = CommandKeys.keys(spec, args);
    if (keys.isEmpty() || (s.routing().flagsFor(keys, 1) & io.distcache.protocol.Flags.ROUTED) == 0) {
      return;
    }
    io.distcache.protocol.cluster.Member owner = cluster.owner(keys.get(0));
    io.distcache.protocol.cluster.Member self = cluster.self();
    if (owner != null && self != null && !owner.equals(self)) {
      throw new CommandException("MOVED " + io.distcache.protocol.cluster.KeySlot.of(keys.get(0)) + " "
          + owner.address());
    }
  }

  private static void multi(RespSession s, byte[][] a) {
    State t = s.transaction();
    if (t.inMulti) {
      throw new CommandException("ERR MULTI calls can not be nested");
    }
    t.inMulti = true;
    s.out().ok();
  }

  private static void discard(RespSession s, byte[][] a) {
    State t = s.transaction();
    if (!t.inMulti) {
      throw new CommandException("ERR DISCARD without MULTI");
    }
    t.discard();
    s.out().ok();
  }

  private static void watch(RespSession s, byte[][] a) {
    State t = s.transaction();
    if (t.inMulti) {
      throw new CommandException("ERR WATCH inside MULTI is not allowed");
    }
    if (t.watches.size() + a.length - 1 > MAX_WATCHED_KEYS) {
      throw new CommandException("ERR WATCH of " + (a.length - 1) + " more keys would watch over "
          + MAX_WATCHED_KEYS + " keys, the limit per connection");
    }
    // The keys are held until EXEC, DISCARD or UNWATCH: bounded in bytes per connection like a
    // MULTI queue (the node's request size) and node-wide (ClientMemory).
    long bytes = 0;
    for (int i = 1; i < a.length; i++) {
      bytes += a[i].length + WATCHED_KEY_OVERHEAD;
    }
    long limit = s.context().limits().maxRequestBytes();
    if (t.watchedBytes + bytes > limit) {
      throw new CommandException("ERR WATCH of " + bytes + " more bytes of keys would watch over " + limit
          + " bytes, the limit per connection (the node's request size)");
    }
    s.memory().take(bytes, "WATCH of these keys");
    t.watchedBytes += bytes;
    List<CompletableFuture<Frame>> reads = new ArrayList<>(a.length - 1);
    if (t.stats != null) {
      t.stats.watched(a.length - 1, t.watches.isEmpty());
    }
    for (int i = 1; i < a.length; i++) {
      byte[] key = Args.key(a[i]);
      CompletableFuture<Frame> version = s.send(Frame.request(Opcode.VERSION, key));
      t.watches.add(new Watch(key, version));
      reads.add(version);
    }
    s.await(allDone(reads), (ignored, w) -> {
      for (CompletableFuture<Frame> read : reads) {
        Frame r = read.join();
        if (r.status().isError()) {
          w.error(RespErrors.fromStatus(r, false));
          return;
        }
      }
      w.ok();
    });
  }

  private static void unwatch(RespSession s, byte[][] a) {
    s.transaction().unwatch();
    s.out().ok();
  }

  private static void exec(RespSession s, byte[][] a) {
    State t = s.transaction();
    if (!t.inMulti) {
      throw new CommandException("ERR EXEC without MULTI");
    }
    if (t.dirty) {
      t.discard();
      throw new CommandException(RespErrors.EXECABORT);
    }
    List<byte[][]> queued = new ArrayList<>(t.queued);
    List<Watch> watches = new ArrayList<>(t.watches);
    // The queue's arguments, the batch made of them and the watched keys stay on the heap until the
    // transaction has answered (a forwarded one waits for its owner, a WATCH for another node's
    // version): what they took stays taken until then.
    Capture capture = new Capture(t.queuedHeap + t.watchedBytes);
    t.queuedHeap = 0;
    t.watchedBytes = 0;
    t.discard(); // EXEC ends the transaction and unwatches, whatever happens next
    CompletableFuture<Frame> ran;
    try {
      CompletableFuture<Void> compiled = compileScripts(s, queued, capture);
      if (compiled.isDone()) {
        ran = collectAndRun(s, queued, watches, capture);
      } else {
        // A queued script compiles off the event loop first (ScriptCompiler): the queue is replayed on
        // the loop once every body is compiled, and this connection's next commands wait for EXEC.
        ran = s.onEventLoop(compiled, ignored -> collectAndRun(s, queued, watches, capture));
        s.runNextAfter(ran);
      }
    } catch (RuntimeException | Error e) {
      s.memory().release(capture.heldBytes); // nothing was sent: nothing holds it any more
      throw e;
    }
    releaseWhenDone(s, ran, capture);
    s.await(ran, rendered(capture));
  }

  /**
   * Gives back what {@code capture} holds of the connection's budget once {@code ran} completes,
   * on the connection's event loop (its account is used there only). A connection closed before
   * then gave back all it held already: the release then gives back nothing (Account.release).
   */
  private static void releaseWhenDone(RespSession s, CompletableFuture<Frame> ran, Capture capture) {
    if (ran.isDone()) {
      s.memory().release(capture.heldBytes);
      return;
    }
    ran.whenCompleteAsync((r, e) -> s.memory().release(capture.heldBytes), s.loop());
  }

  /**
   * Compiles, off the event loop, the bodies of the queue's EVAL, EVAL_RO and SCRIPT LOAD that the
   * cache does not hold, for the replay to find in {@code capture}; completes when all are done
   * (failed ones too: their commands answer the compile error in their own slot).
   */
  private static CompletableFuture<Void> compileScripts(RespSession s, List<byte[][]> queued, Capture capture) {
    List<CompletableFuture<?>> pending = new ArrayList<>();
    for (byte[][] args : queued) {
      byte[] body = null;
      if ((Args.is(args[0], "eval") || Args.is(args[0], "eval_ro")) && args.length > 2) {
        body = args[1];
      } else if (Args.is(args[0], "script") && args.length == 3 && Args.is(args[1], "load")) {
        body = args[2];
      }
      if (body != null && !capture.precompiled.containsKey(body)) {
        CompletableFuture<ScriptCache.Script> c = s.context().scriptCompiler().load(s.context().scriptCache(), body);
        capture.precompiled.put(body, c);
        if (!c.isDone()) {
          pending.add(c);
        }
      }
    }
    return pending.isEmpty() ? CompletableFuture.completedFuture(null)
        : CompletableFuture.allOf(pending.toArray(new CompletableFuture<?>[0])).handle((v, e) -> null);
  }

  /** EXEC's reply from what its batch answered. */
  private static RespSession.Reply rendered(Capture capture) {
    return (r, w) -> {
      if (r.status() == Status.CONDITION_FAILED) {
        w.nullArray();
      } else if (r.status() == Status.OUT_OF_MEMORY) {
        // The owner refused the whole batch before running it (no room for its writes): as Redis
        // answers an EXEC whose queued writes were refused for memory, nothing ran.
        w.error("EXECABORT Transaction discarded because of: " + RespErrors.OOM);
      } else if (r.status().isError()) {
        w.error(RespErrors.fromStatus(r, false));
      } else {
        capture.render(w);
      }
    };
  }

  /** Replays the queued commands into {@code capture} and sends the batch; completes when it has run. */
  private static CompletableFuture<Frame> collectAndRun(RespSession s, List<byte[][]> queued, List<Watch> watches,
      Capture capture) {
    s.capture(capture);
    try {
      for (byte[][] args : queued) {
        capture.startCommand(s);
        try {
          s.commands().dispatch(s, args);
        } catch (CommandException e) {
          capture.abortCommand();
          s.out().error(e.getMessage());
        } catch (RuntimeException e) {
          capture.abortCommand();
          s.out().error("ERR internal error: " + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        capture.endCommand(s);
      }
    } finally {
      s.capture(null);
      capture.precompiled.clear(); // the replay has found its scripts; the batch carries their bodies
    }
    CompletableFuture<Frame> watched = allDone(watchFutures(watches));
    CompletableFuture<Frame> ran;
    if (watched.isDone()) {
      ran = run(s, capture, watches, null);
    } else {
      // A WATCH's version comes from another node: the batch is sent once it is in, on this
      // connection's event loop, in the place EXEC holds in its routing order now, so a request
      // pipelined after EXEC is not routed before the batch.
      RespSession.Place place = s.reserve();
      ran = s.onEventLoop(watched, ignored -> run(s, capture, watches, place));
      ran.whenComplete((r, e) -> place.release());
    }
    return ran;
  }

  /** Sends the collected requests as one TRANSACTION; completes when every result can be rendered. */
  private static CompletableFuture<Frame> run(RespSession s, Capture capture, List<Watch> watches,
      RespSession.Place place) {
    List<TransactionCodec.Condition> conditions = new ArrayList<>(watches.size());
    for (Watch w : watches) {
      Frame v = w.version().join();
      if (v.status() == Status.OK) {
        conditions.add(new TransactionCodec.Condition(w.key(), v.extra(0, 0), v.extra(1, 0)));
      } else if (v.status() == Status.NOT_FOUND) {
        conditions.add(new TransactionCodec.Condition(w.key(), TransactionCodec.ABSENT, TransactionCodec.ANY_EXPIRY));
      } // a WATCH that failed (TRYAGAIN, MOVED) was answered with its error and watches nothing
    }
    if (capture.requests.isEmpty() && conditions.isEmpty()) {
      return capture.allResults().thenApply(ignored -> OK);
    }
    byte[] routingKey = !conditions.isEmpty() ? conditions.get(0).key() : firstKey(capture.requests);
    Frame batch = Frame.request(Opcode.TRANSACTION, 0, routingKey,
        TransactionCodec.encodeRequest(conditions, capture.requests));
    int sent = capture.requests.size();
    capture.requests.clear(); // the batch carries them now
    capture.holdAtLeast(s, batch.value().length);
    return (place == null ? s.send(batch) : s.send(batch, place)).thenCompose(reply -> {
      if (reply.status() != Status.OK) {
        return CompletableFuture.completedFuture(reply);
      }
      List<Frame> replies;
      try {
        replies = TransactionCodec.decodeReplies(reply.value());
      } catch (ListCodec.MalformedListException e) {
        return CompletableFuture.completedFuture(
            reply.replyError(Status.INTERNAL_ERROR, "malformed transaction reply: " + e.getMessage()));
      }
      if (replies.size() != sent) {
        return CompletableFuture.completedFuture(reply.replyError(Status.INTERNAL_ERROR,
            "the transaction answered " + replies.size() + " replies for " + sent + " requests"));
      }
      for (int i = 0; i < replies.size(); i++) {
        capture.replies.get(i).complete(replies.get(i));
      }
      return capture.allResults().thenApply(ignored -> reply);
    });
  }

  private static final Frame OK = Frame.request(Opcode.PING, null).replyOk();

  /**
   * The first key a request names; the empty key for a batch of keyless requests (keyless scripts:
   * the node that received the EXEC runs it, as it runs a keyless EVAL).
   */
  private static byte[] firstKey(List<Frame> requests) {
    for (Frame f : requests) {
      if (f.op() != null && f.op().keyed()) {
        if (f.key() != null && f.key().length > 0) {
          return f.key();
        }
        continue; // a SCRIPT that declares no key
      }
      try {
        List<byte[]> keys = switch (f.op()) {
          case MULTI_GET, MULTI_DELETE, MULTI_EXISTS -> ListCodec.decodeKeys(f.value());
          case MULTI_SET, MULTI_SET_IF_ABSENT -> ListCodec.decodePairs(f.value());
          default -> List.of();
        };
        if (!keys.isEmpty()) {
          return keys.get(0);
        }
      } catch (ListCodec.MalformedListException | NullPointerException e) {
        // the owner answers BAD_REQUEST for it
      }
    }
    return Frame.EMPTY;
  }

  private static List<CompletableFuture<Frame>> watchFutures(List<Watch> watches) {
    List<CompletableFuture<Frame>> out = new ArrayList<>(watches.size());
    for (Watch w : watches) {
      out.add(w.version());
    }
    return out;
  }

  private static CompletableFuture<Frame> allDone(List<CompletableFuture<Frame>> futures) {
    return CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).thenApply(ignored -> OK);
  }

  /**
   * What EXEC collects while it replays the queue: the binary requests (with a future each for
   * its reply) and, per command, how its reply is produced: rendered at once, or a future and the
   * renderer that writes it.
   */
  static class Capture {
    /**
     * What this EXEC holds of the connection's budget (ClientMemory) until it has answered: the
     * queue's share, raised to the batch's heap when that is more (event loop only).
     */
    long heldBytes;
    /** EXEC's compiles of its queued script bodies, by the body's array (the replay's own arguments). */
    final java.util.IdentityHashMap<byte[], CompletableFuture<ScriptCache.Script>> precompiled =
        new java.util.IdentityHashMap<>();
    final List<Frame> requests = new ArrayList<>();
    final List<CompletableFuture<Frame>> replies = new ArrayList<>();
    private final List<Result> results = new ArrayList<>();
    private int resultsAtStart;

    private record Result(ByteBuf rendered, CompletableFuture<Frame> response, RespSession.Reply reply) {}

    private int requestsAtStart;

    /** A capture that holds nothing of the budget (a script's calls). */
    Capture() {
      this(0);
    }

    Capture(long heldBytes) {
      this.heldBytes = heldBytes;
    }

    /**
     * The encoded batch of {@code length} bytes is on the heap until the transaction has answered:
     * counted (it cannot be refused, EXEC is under way) when it holds more than the queue's share.
     */
    void holdAtLeast(RespSession s, long length) {
      long heap = ArrayHeap.heap(length);
      if (heap > heldBytes) {
        s.memory().charge(heap - heldBytes);
        heldBytes = heap;
      }
    }

    void startCommand(RespSession s) {
      resultsAtStart = results.size();
      requestsAtStart = requests.size();
    }

    /** A command failed while it ran: whatever it collected is dropped, so none of it runs. */
    void abortCommand() {
      requests.subList(requestsAtStart, requests.size()).clear();
      replies.subList(requestsAtStart, replies.size()).clear();
      results.subList(resultsAtStart, results.size()).clear();
    }

    void endCommand(RespSession s) {
      if (results.size() == resultsAtStart) {
        results.add(new Result(rendered("-ERR internal error: the command produced no reply\r\n"), null, null));
      }
    }

    /** A request collected for the batch; its future completes with the request's own reply. */
    CompletableFuture<Frame> send(Frame request) {
      CompletableFuture<Frame> reply = new CompletableFuture<>();
      requests.add(request);
      replies.add(reply);
      return reply;
    }

    void await(CompletableFuture<Frame> response, RespSession.Reply reply) {
      results.add(new Result(null, response, reply));
    }

    /** A buffer for a reply written at once; the command's result. */
    ByteBuf direct() {
      ByteBuf buf = Unpooled.buffer(64);
      results.add(new Result(buf, null, null));
      return buf;
    }

    CompletableFuture<Void> allResults() {
      List<CompletableFuture<Frame>> pending = new ArrayList<>();
      for (Result r : results) {
        if (r.response() != null) {
          pending.add(r.response());
        }
      }
      return CompletableFuture.allOf(pending.toArray(new CompletableFuture<?>[0]));
    }

    void render(RespWriter w) {
      w.array(results.size());
      for (Result r : results) {
        if (r.rendered() != null) {
          w.raw(r.rendered());
        } else {
          r.reply().write(r.response().join(), w);
        }
      }
    }

    private static ByteBuf rendered(String text) {
      return Unpooled.copiedBuffer(text, java.nio.charset.StandardCharsets.US_ASCII);
    }
  }
}
