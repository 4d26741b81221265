package io.distcache.server.resp;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.server.cluster.HeldReply;
import io.distcache.server.net.ClientLog;
import io.distcache.server.net.DirectMemoryShortage;
import io.distcache.server.net.FlushBatch;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: one instance per connection, always on the connection's event loop. Replies of a read
 * burst are written into one pooled buffer, which is what makes pipelining cheap, and flushed once
 * the event loop has served every ready connection of its cycle (FlushBatch, as Redis writes its
 * replies before it sleeps); but once that buffer holds FLUSH_BYTES it is written out at once, so a
 * burst of small requests with large replies (200 pipelined GETs of a 512 KiB value: 100 MB) never
 * becomes one huge buffer.
 *
 * Ordering: Redis answers in request order. A data command goes through the Router; served locally,
 * its future is already complete and the reply is written at once. A forwarded one completes later,
 * so its reply is "parked", and so is every reply after it (pre-rendered into its own buffer when it
 * was immediate) until the parked head completes. Worked example: GET a (forwarded), PING, GET b
 * (local) parks three entries; when a's answer arrives, drain() writes a's reply, PONG and b's reply
 * in that order and flushes. Parked replies keep the protocol version of the moment they were
 * issued (HELLO 3 may follow them).
 *
 * Backpressure: reading pauses while the channel is unwritable (the client is not reading its
 * replies) or too many replies are parked (4,096, or their rendered bytes reach the channel's high
 * water mark, or the node's budget for what connections hold is spent: ClientMemory), so neither
 * can grow without bound; parked bytes count in CLIENT LIST's omem. Requests already
 * decoded when that happens wait in `waiting`, unexecuted, until the channel is writable again
 * (channelWritabilityChanged) or the parked replies drain: what they would reply is never produced
 * ahead of the client. `waiting` holds at most what the last reads delivered, and it counts in the
 * node-wide input bound (net/InputBudget, via the connection's InputMeter) until it runs: a request
 * that would pass the bound takes its place as an error, answered in order, and the connection
 * closes after it (refuseWaiting). A request run as it arrives costs no accounting. A request that
 * ran but whose reply has not come (forwarded to its owner, waiting for its replicas, a blocking
 * pop) keeps its arguments on the heap until its reply is written, so it counts in the same bound
 * from the moment its reply is parked (await) until then; it cannot be refused any more, so it is
 * counted even past the limit, and a connection holding such requests reads no more while the
 * bound is full (behind), so what the node holds grows past the limit by at most what one read
 * of each connection completes.
 *
 * Blocking pops (BlockingPop): while one waits, the commands the connection sends after it wait in
 * `waiting` too (Redis runs nothing of a blocked client), and reading stops once one has come, so
 * `waiting` stays bounded; a connection that sent nothing more is still read, so its close is seen
 * and unparks it at once. The same holds behind a script the connection sent (EVAL, FCALL, an EXEC
 * holding one): what follows it runs once it has answered, as in Redis. And behind another
 * connection's script: a command that must wait for it waits in `waiting`, unrun, until the script
 * has ended or passed its busy threshold (behindNodeScript), never on the event loop, which serves
 * other connections meanwhile (ScriptWait).
 */

/** The Redis protocol's per-connection handler: executes commands and keeps replies in order. */
final class RespSession extends ChannelInboundHandlerAdapter implements FlushBatch.Member {
  private static final Logger log = LoggerFactory.getLogger(RespSession.class);
  /** Replies a connection may have waiting behind one not yet come before what it sends waits too. */
  static final int MAX_PARKED = 4096;
  /** The burst buffer's first size when nothing is known yet (a lone short reply). */
  private static final int MIN_BURST_BYTES = 256;
  /** The burst buffer is never pre-sized beyond this; a bigger burst grows it as it goes. */
  private static final int MAX_BURST_HINT_BYTES = 64 * 1024;
  /**
   * Replies are written out mid-burst once this many bytes are buffered: Netty's default high water
   * mark, so a flush is large enough to cost little and the channel's writability still reflects a
   * client that is not reading.
   */
  private static final int FLUSH_BYTES = 64 * 1024;

  /** Renders a router response as the command's reply. */
  interface Reply {
    void write(Frame response, RespWriter w);
  }

  private final RespContext context;
  private final CommandTable commands;
  private final RespWriter writer = new RespWriter();
  private final ArrayDeque<Parked> parked = new ArrayDeque<>();
  /** A drain task is queued on the event loop and has not started yet. */
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  private final Runnable scheduledDrain = () -> {
    drainScheduled.set(false);
    drain();
  };
  /** Decoded requests (RespCommand, RespProtocolError) not yet executed because the client is behind. */
  private final ArrayDeque<Object> waiting = new ArrayDeque<>();
  /** Guards against re-entering runWaiting() from a writability event fired inside a flush. */
  private boolean runningWaiting;
  /**
   * Most time one connection's requests run before the event loop's other connections (and the
   * cluster bus's heartbeats on it) get a turn: the rest of what it sent waits, unread input stays
   * in the socket, and a task queued behind the others' I/O goes on. Without it one client
   * pipelining INFO (4,600 per 64 KiB read, 6 ms each on a cluster member) held its loop for
   * 27 s at a time, and the other members declared the node dead (a tester).
   */
  static final long TURN_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(2);
  /** When this connection's current turn began (its read burst's first request, or a continuation); 0 between turns. */
  private long turnStartNanos;
  /** A continuation of the requests left from a turn is queued on the event loop. */
  private boolean turnQueued;
  private ChannelHandlerContext ctx;
  /** Came in over TLS (set in handlerAdded). */
  private boolean tlsClient;
  private ClientState client;
  private ConnectionRouting routing;
  private ByteBuf burst;
  /**
   * The size of the previous burst's replies. Clients repeat their patterns (a pipeline of 16 GETs,
   * then another), so the next burst buffer starts that big instead of growing, and copying, its
   * way up from a small one several times per burst.
   */
  private int burstHint = MIN_BURST_BYTES;
  /** A pushed message is being rendered (push() restores the writer's target after it). */
  private boolean pushing;
  /** Whether the current command's reply target has been chosen. */
  private boolean replyStarted;
  /** No more commands are executed; the connection closes once the replies are out. */
  private boolean closing;
  /**
   * Refused before serving anything (protected mode): the reply is written, the input drained and
   * dropped, and the connection closed by net.LingeringClose, not by this session.
   */
  private boolean refused;
  /**
   * Closing after the decoder refused the input (a protocol error, a request over a limit, the
   * node-wide input bound): the decoder drops what follows, so the close lingers (LingeringClose)
   * and the client, which may still be sending, reads the error instead of a reset.
   */
  private boolean lingerOnClose;
  /** This session waits in its event loop's {@link FlushBatch}. */
  private boolean flushQueued;
  /** The client shut down its sending side: close once everything it sent is answered. */
  private boolean inputClosed;
  /** The command being executed (set by the dispatcher once name and arity are checked), or null. */
  private CommandSpec current;
  /** The current command's reply waits for a response: its statistics are taken when it is rendered. */
  private boolean currentParked;
  private byte[][] currentArgs;
  private long currentStart;

  RespSession(RespContext context, CommandTable commands) {
    this.context = context;
    this.commands = commands;
    this.memory = context.clientMemory().account();
    this.transaction = new TransactionCommands.State(memory, context.stats());
  }

  /**
   * A session with no connection, for the commands a script calls (LuaScripts): it runs as
   * {@code client} and always captures (its capture runs each request at once).
   */
  static RespSession forScript(RespContext context, ClientState client) {
    RespSession s = new RespSession(context, context.commands());
    s.client = client;
    return s;
  }

  /** In EXEC's replay: EXEC's compile of a queued script body (TransactionCommands), else null. */
  CompletableFuture<ScriptCache.Script> precompiled(byte[] body) {
    return capture == null ? null : capture.precompiled.get(body);
  }

  /** True while EXEC replays a queue or a script calls commands: requests do not reach the router. */
  boolean capturing() {
    return capture != null;
  }

  // ---- what commands use ----

  RespContext context() {
    return context;
  }

  CommandTable commands() {
    return commands;
  }

  ClientState client() {
    return client;
  }

  /** This connection's share of the node's budget for per-connection state (ClientMemory). */
  ClientMemory.Account memory() {
    return memory;
  }

  /** This connection's MULTI queue and watched keys. */
  TransactionCommands.State transaction() {
    return transaction;
  }

  /** While EXEC replays its queue: where requests and replies go instead of the router and the client. */
  void capture(TransactionCommands.Capture capture) {
    this.capture = capture;
  }

  /** The writer, pointed at where the current command's reply belongs. Call once per reply. */
  RespWriter out() {
    if (capture != null) {
      writer.target(capture.direct());
      return writer;
    }
    if (!replyStarted) {
      replyStarted = true;
      if (parked.isEmpty()) {
        writer.target(burst());
      } else {
        ByteBuf own = ctx.alloc().buffer();
        parked.add(new Parked(null, null, own, writer.protocol(), null, null, 0, 0));
        writer.target(own);
        parkedOwn = own; // counted once the command has written its reply (countParkedReply)
      }
    }
    return writer;
  }

  /** The dispatcher found {@code spec} and runs it now (its statistics are taken when it has replied). */
  void executing(CommandSpec spec) {
    current = spec;
  }

  /** Sends a data request through the router; {@code reply} renders its response, in order. */
  void route(Frame request, Reply reply) {
    await(send(request), reply);
  }

  /**
   * Like {@link #route}, for a GET whose value the node may write straight into this reply (see
   * ValueSink): offered only when this reply goes into the burst buffer now (nothing parked before
   * it, no MULTI or script capture, no tracking registration to wait for). A value that is not
   * written so (forwarded, answered later, or not offered) comes in the frame for {@code reply}.
   */
  void routeValue(Frame request, Reply reply) {
    if (capture != null || !parked.isEmpty() || trackingBarrier != null) {
      route(request, reply);
      return;
    }
    CompletableFuture<Frame> response;
    direct.written = false;
    direct.armed = request.key();
    try {
      response = send(request.withSink(direct));
    } finally {
      direct.armed = null;
    }
    if (direct.written) {
      direct.written = false;
      // The router answers an OK with no value (it never throws): the bulk is in the burst already.
      await(response, VALUE_WRITTEN);
    } else {
      await(response, reply);
    }
  }

  /** The reply of a GET whose value the store wrote through {@link #direct}: nothing more to write. */
  private static final Reply VALUE_WRITTEN = (response, w) -> {};

  private final DirectValue direct = new DirectValue();

  /**
   * GET values of at least this many bytes that the store keeps in a buffer of their own are written
   * from that buffer, not copied into the reply (DirectValue.acceptShared). 64 KiB: Netty's default
   * high water mark and FLUSH_BYTES, so such a reply is flushed at once whether copied or not; the
   * copy was 27% of a 256 KiB GET's CPU (docs/BENCHMARKS.md, issue 16), and below 64 KiB the value
   * is stored inline in a page anyway with the default page size.
   */
  static final int SHARED_BULK_BYTES = 64 * 1024;

  /**
   * This connection's ValueSink: writes a GET's value as a bulk reply into the burst buffer, from
   * the store's memory (under the entry's lock), on this connection's event loop only. A large value
   * is not copied: the store hands a reference to its memory, which goes to the channel as its own
   * buffer between the bulk's header and its end (acceptShared).
   */
  private final class DirectValue implements io.distcache.protocol.ValueSink,
      io.distcache.server.store.SharedValueReader {
    /** The key array of the GET being sent now, null between sends (event loop only). */
    private byte[] armed;
    /** The value of the GET being sent was written (event loop only). */
    private boolean written;

    @Override
    public boolean accepts(byte[] key) {
      // The thread first: armed is read only on the event loop that writes it.
      return ctx.executor().inEventLoop() && armed != null && key == armed;
    }

    @Override
    public void accept(java.nio.ByteBuffer value) {
      replyStarted = true;
      ByteBuf target = burst();
      writer.target(target);
      int mark = target.writerIndex();
      try {
        writer.bulk(value);
      } catch (RuntimeException e) {
        // No half reply in the stream: undone, or the connection closed when a piece went out already.
        if (writer.target() != target) {
          closing = true;
          ctx.close();
        } else {
          target.writerIndex(mark);
        }
        throw e;
      }
      written = true;
    }

    @Override
    public int sharedFrom() {
      return SHARED_BULK_BYTES;
    }

    /**
     * Writes the bulk's header at the end of the burst, hands the burst to the channel, then the
     * value (the store's memory, held until the channel releases it: written, or dropped with the
     * connection), and starts a fresh burst with the bulk's end. The value's bytes count in the
     * channel's pending bytes (its writability, CLIENT LIST's omem) as a copy's did.
     */
    @Override
    public void acceptShared(ByteBuf value) {
      replyStarted = true;
      ByteBuf target;
      try {
        target = burst(); // may allocate: the store's reference is given back if it fails (a reviewer)
      } catch (RuntimeException | Error e) {
        value.release();
        throw e;
      }
      writer.target(target);
      int mark = target.writerIndex();
      ByteBuf next;
      try {
        writer.bulkHeader(value.readableBytes());
        next = ctx.alloc().ioBuffer(burstHint); // before anything goes out: a failure leaves no half reply
      } catch (RuntimeException | Error e) {
        target.writerIndex(mark);
        value.release();
        throw e;
      }
      handedBytes += target.readableBytes() + value.readableBytes();
      // No burst while the writes run: a flush they may cause (a writability event runs waiting
      // requests, which flushes) sends what was handed and nothing that belongs after the value.
      burst = null;
      ctx.write(target, ctx.voidPromise());
      ctx.write(value, ctx.voidPromise());
      burst = next;
      writer.target(next);
      writer.crlf();
      written = true;
    }
  }

  /** Bytes handed to the channel since the last flush outside the burst buffer (acceptShared, rollOver). */
  private long handedBytes;

  /**
   * Like {@link #route} (or {@link #routeWithValue} for a {@code valueArg} of 0 or more) for a
   * request answered with a value the store holds and gives up or replaces (SET with GET, GETSET,
   * GETDEL): the node serving it here may lend that value to a LentValue, which copies it off the
   * heap until the reply is rendered. Offered outside MULTI and scripts only; a value not lent comes
   * in the frame, and {@code render} gets a null LentValue.
   */
  void routeLending(Frame request, int valueArg, LentValue.Render render) {
    LentValue lent = lender(request.key(), render);
    if (lent == null) {
      Reply reply = (r, w) -> render.write(r, null, w);
      if (valueArg >= 0) {
        routeWithValue(request, valueArg, reply);
      } else {
        route(request, reply);
      }
      return;
    }
    lent.armed(true);
    try {
      if (valueArg >= 0) {
        routeWithValue(request.withSink(lent), valueArg, lent);
      } else {
        route(request.withSink(lent), lent);
      }
    } finally {
      lent.armed(false);
    }
  }

  /** A LentValue for a request on {@code key} rendered by {@code render}, or null where none is offered. */
  LentValue lender(byte[] key, LentValue.Render render) {
    return capture != null ? null : new LentValue(ctx, key, render);
  }

  /** Sends {@code request} (on {@code lent}'s key) with {@code lent} armed as its sink; see routeLending. */
  CompletableFuture<Frame> sendLending(Frame request, LentValue lent) {
    if (lent == null) {
      return send(request);
    }
    lent.armed(true);
    try {
      return send(request.withSink(lent));
    } finally {
      lent.armed(false);
    }
  }

  /** The command being executed, whose buffered values routeWithValue and takeValue may take; null between commands. */
  private RespCommand command;

  /**
   * Leaves a command's values in their buffers when the command can take them from there
   * (RespCommand.valueArgs, outside MULTI, with no MONITOR to show them whole), with
   * RespCommand.IN_BUFFER in their places among the arguments (the slow log sees {@link #shown});
   * gives every other command arrays.
   */
  private byte[][] prepared(RespCommand c) {
    if (!c.buffered()) {
      return c.args;
    }
    java.util.function.IntPredicate may = c.args[0] == null ? null : RespCommand.valueArgs(c.args[0]);
    if (may != null && c.bufferedOnlyWhere(may) && !transaction.inMulti && !context.monitors().active()) {
      for (int at = 0; at < c.args.length; at++) {
        if (c.peek(at) != null) {
          c.args[at] = RespCommand.IN_BUFFER;
        }
      }
      command = c;
    } else {
      currentHeld += c.materialize(); // while it waits for a reply, the arrays count as the regions they take
    }
    return c.args;
  }

  /**
   * {@code args} as the slow log and MONITOR show them: a value the command being executed still
   * holds in its buffer as its head and length (RespCommand.shown); made only for a command that is
   * logged, fed to a monitor or parked, not for every SET.
   */
  private byte[][] shown(byte[][] args) {
    return command == null ? args : command.shown(args);
  }

  /**
   * Argument {@code argIndex}'s buffer in the command being executed, when prepared() left it there,
   * with a reference the caller owns (and releases; RespCommand.take). Null when the argument is an array.
   */
  ByteBuf takeValue(int argIndex) {
    return command == null ? null : command.take(argIndex);
  }

  /**
   * Like {@link #route} for a request whose value is argument {@code argIndex} of the command being
   * executed: when that argument is still in its buffer (see {@link #prepared}), the request carries
   * the buffer instead of an array (BufferedValue), and the node that serves it locally copies the
   * value from there into the store.
   */
  void routeWithValue(Frame request, int argIndex, Reply reply) {
    ByteBuf b = takeValue(argIndex);
    if (b == null) {
      route(request, reply);
      return;
    }
    routeBuffered(request, new io.distcache.protocol.BufferedValue(b), reply);
  }

  /**
   * Routes {@code request} with {@code value} as its value. The buffer is released once the request
   * is sent; one still in flight then (forwarded, waiting for its slot) keeps a heap copy of it.
   */
  void routeBuffered(Frame request, io.distcache.protocol.BufferedValue value, Reply reply) {
    if (capture != null) {
      value.release(true); // a captured request is kept: it carries a copy (prepared() leaves none for MULTI)
      route(request.withValue(value), reply);
      return;
    }
    CompletableFuture<Frame> response = null;
    try {
      response = send(request.withValue(value));
    } finally {
      boolean keepCopy = response != null && !response.isDone();
      value.release(keepCopy);
      if (keepCopy) {
        currentHeld += ArrayHeap.excess(value.length()); // the copy is a heap array: whole regions when large
      }
    }
    await(response, reply);
  }

  /** This connection's share of the node's budget for MULTI queues, WATCH and BCAST prefixes. */
  private final ClientMemory.Account memory;
  private final TransactionCommands.State transaction;
  /** Non-null while EXEC replays the queued commands (see TransactionCommands). */
  private TransactionCommands.Capture capture;

  /**
   * Sends a data request through the router, flagged ROUTED when this connection's redirect rule
   * says so (see ConnectionRouting); for commands that combine several router calls.
   */
  CompletableFuture<Frame> send(Frame request) {
    if (capture != null) {
      return capture.send(request);
    }
    return send(request, null);
  }

  /**
   * Like {@link #send(Frame)}, in the place {@code place} reserved in this connection's routing
   * order (EXEC reserves it when it is read and sends its batch once its WATCH versions are in);
   * null: the next place. Call on the event loop.
   */
  CompletableFuture<Frame> send(Frame request, Place place) {
    Frame routed = withRouting(request);
    boolean readOnly = routing.readOnly();
    CompletableFuture<Void> registered = trackingBarrier;
    trackingBarrier = null; // a tracked read forwarded to its owner runs once the owner has registered this node
    java.util.function.Supplier<CompletableFuture<Frame>> call =
        () -> readOnly ? context.router().routeReadOnly(routed) : context.router().route(routed);
    CompletableFuture<Frame> reply = place != null ? place.route(registered, call) : inOrder(registered, call);
    if (!reply.isDone()) {
      currentHeld += encodedHeld(request);
      if (request.op() == Opcode.SCRIPT
          || request.op() == Opcode.TRANSACTION && io.distcache.protocol.TransactionCodec.holds(request.value(), Opcode.SCRIPT)) {
        scriptAhead = reply; // a script, or EXEC holding one: what follows waits for it (see scriptAhead)
      }
    }
    if (tlsClient && routed.hasFlag(io.distcache.protocol.Flags.ROUTED) && context.tlsEndpoints() != null) {
      // Only a ROUTED request can be answered NOT_OWNER (MOVED): name the owner's TLS port, or
      // forward the request when this node does not know it (a TLS client never gets a node port).
      reply = context.tlsEndpoints().forTlsClient(routed, reply, context.router()::route);
    }
    return reply;
  }

  /**
   * The heap a request in flight holds beyond its command's arguments (counted in currentHeld): a
   * large value the command encoded afresh (HSET's fields and values, a script's arguments) is a
   * second array, kept until the reply comes (a forward may be retried). A value that is one of the
   * arguments is counted already; small ones are left out (no per-request cost); EXEC's batch is
   * counted by its transaction (TransactionCommands.Capture).
   */
  private long encodedHeld(Frame request) {
    if (request.buffered() != null || request.op() == Opcode.TRANSACTION
        || request.valueLength() < RespDecoder.STREAM_BULK_BYTES) {
      return 0;
    }
    byte[] v = request.value();
    byte[][] args = currentArgs;
    if (args != null) {
      for (byte[] a : args) {
        if (a == v) {
          return 0; // the argument's own array, counted with the arguments (and its regions, prepared)
        }
      }
    }
    return ArrayHeap.heap(v.length);
  }

  /**
   * Runs {@code call} (a router or cluster-wide call a command makes itself) in this connection's
   * routing order: now, or once no request this connection sent before it is held (HeldReply).
   */
  CompletableFuture<Frame> inOrder(java.util.function.Supplier<CompletableFuture<Frame>> call) {
    return inOrder(null, call);
  }

  private CompletableFuture<Frame> inOrder(CompletableFuture<?> also,
      java.util.function.Supplier<CompletableFuture<Frame>> call) {
    CompletableFuture<?> before = heldBefore;
    if (before != null && before.isDone()) {
      before = heldBefore = null;
    }
    if (before == null && also == null) {
      // The common case: nothing held, nothing to wait for; no Place is made.
      CompletableFuture<Frame> r = call.get();
      if (HeldReply.holds(r)) {
        heldBefore = r; // see HeldReply: what this connection sends next waits until it is applied
      }
      return r;
    }
    return reserve().route(also, call);
  }

  /**
   * Non-null while a request this connection sent is held (HeldReply) or waits behind one: the
   * next request is routed once it completes, so none overtakes a held write (event loop only).
   */
  private CompletableFuture<?> heldBefore;

  /** {@code then}, on this connection's event loop, once {@code first} completes. */
  <T> CompletableFuture<Frame> onEventLoop(CompletableFuture<T> first,
      java.util.function.Function<? super T, CompletableFuture<Frame>> then) {
    return first.thenComposeAsync(then, ctx.executor());
  }

  /** The next place in this connection's routing order: routed after every request sent before it. */
  Place reserve() {
    CompletableFuture<?> before = heldBefore;
    if (before != null && before.isDone()) {
      before = null;
    }
    Place place = new Place(before);
    heldBefore = place.done;
    return place;
  }

  /**
   * One request's place in its connection's routing order. {@code done} completes once it has been
   * routed and is not held (or was never sent): what the connection sends next waits for that.
   */
  final class Place {
    private final CompletableFuture<?> before;
    final CompletableFuture<Void> done = new CompletableFuture<>();

    private Place(CompletableFuture<?> before) {
      this.before = before;
    }

    /** Routes with {@code call} once {@code before} and {@code also} (when non-null) are done. */
    CompletableFuture<Frame> route(CompletableFuture<?> also, java.util.function.Supplier<CompletableFuture<Frame>> call) {
      CompletableFuture<?> wait = before;
      if (also != null) {
        wait = wait == null ? also : CompletableFuture.allOf(wait.exceptionally(e -> null), also.exceptionally(e -> null));
      }
      if (wait == null || wait.isDone()) {
        return routeNow(call);
      }
      Runnable counted = context.router().deferred(); // a graceful stop waits for it (DrainingRouter)
      return wait.exceptionally(e -> null).thenComposeAsync(x -> {
        try {
          return routeNow(call);
        } finally {
          counted.run();
        }
      }, ctx.executor()).whenComplete((r, e) -> counted.run());
    }

    /** Abandons the place (nothing is sent in it): later requests need not wait for it. */
    void release() {
      done.complete(null);
    }

    private CompletableFuture<Frame> routeNow(java.util.function.Supplier<CompletableFuture<Frame>> call) {
      CompletableFuture<Frame> r;
      try {
        r = call.get();
      } catch (RuntimeException e) {
        done.complete(null);
        throw e;
      }
      if (HeldReply.holds(r)) {
        r.whenComplete((v, e) -> done.complete(null)); // see HeldReply
      } else {
        done.complete(null);
      }
      return r;
    }
  }

  /** True when this connection came in over TLS: it is told members' TLS ports (TlsEndpoints). */
  boolean tlsClient() {
    return tlsClient;
  }

  /** This connection's redirect rule. */
  ConnectionRouting routing() {
    return routing;
  }

  private Frame withRouting(Frame request) {
    Opcode op = request.op();
    if (op == null) {
      return request;
    }
    int flags;
    if (op.keyed()) {
      flags = routing.flagsFor(request.key());
    } else if (op == Opcode.MULTI_GET || op == Opcode.MULTI_DELETE || op == Opcode.MULTI_EXISTS
        || op == Opcode.MULTI_SET || op == Opcode.MULTI_SET_IF_ABSENT) {
      boolean pairs = op == Opcode.MULTI_SET || op == Opcode.MULTI_SET_IF_ABSENT;
      List<byte[]> keys = List.of();
      if (routing.wantsKeys()) {
        try {
          // the keys alone: a pair list's values may be in buffers (BufferedPairs)
          keys = pairs ? io.distcache.protocol.BufferedPairs.keys(request) : ListCodec.decodeKeys(request.value());
        } catch (ListCodec.MalformedListException e) {
          return request; // the router answers BAD_REQUEST with the codec's words
        }
      }
      flags = routing.flagsFor(keys, 1);
    } else {
      flags = 0;
    }
    return flags == 0 ? request : request.withFlags(flags);
  }

  /** Like {@link #route} for a response computed from several router calls. */
  void await(CompletableFuture<Frame> response, Reply reply) {
    if (capture != null) {
      capture.await(response, reply);
      return;
    }
    replyStarted = true;
    if (parked.isEmpty() && response.isDone()) {
      writer.target(burst());
      render(response, reply);
      return;
    }
    long held = currentHeld;
    currentHeld = 0; // one share per request, however many responses it waits for
    if (held > 0) {
      meter.holdInFlight(held, !currentFromWaiting);
      inFlightHeld += held;
    }
    // What the slow log will show: the values' buffers are gone by the time the reply comes.
    Parked p = new Parked(response, reply, null, writer.protocol(), current, shown(currentArgs), currentStart, held);
    currentParked = true;
    parked.add(p);
    response.whenComplete((r, e) -> {
      // Forwarded replies arrive in bursts (the peer answers a pipelined batch at once): one drain
      // task takes all of them and flushes once. A completion that finds a drain already queued
      // leaves it to that drain, which clears the flag before it looks at the parked replies.
      if (drainScheduled.getAndSet(true)) {
        return;
      }
      try {
        ctx.executor().execute(scheduledDrain);
      } catch (RejectedExecutionException shuttingDown) {
        log.debug("event loop gone; dropping the replies of {}", client.address);
      }
    });
    updateAutoRead();
  }

  // ---- blocking pops ----

  /** The blocking pop this connection waits for, or null; later commands run once it has answered. */
  private BlockingPop blocked;

  /** The current command blocks: what follows it on this connection waits until it has answered. */
  void block(BlockingPop pop) {
    blocked = pop;
    client.blockingPop = pop;
  }

  /**
   * Counts a parked blocking pop's heap ({@code bytes}) in the node-wide input bound
   * (--max-input-buffer, of which parked clients may fill half) until {@link #releaseParked}; null
   * when counted, else the refusal's text.
   */
  String holdParked(long bytes) {
    return meter.holdParked(bytes);
  }

  /** A pop counted by {@link #holdParked} has answered or was cancelled. */
  void releaseParked(long bytes) {
    meter.releaseParked(bytes);
  }

  /**
   * {@code pop} has answered (or was cancelled): nothing can unblock it any more, so the connection
   * lets go of it, and of its keys and request with it (a pop of a million keys holds tens of MB).
   */
  void unblocked(BlockingPop pop) {
    if (blocked == pop) {
      blocked = null;
    }
    if (client.blockingPop == pop) {
      client.blockingPop = null;
    }
  }

  /** A blocking pop of this connection has not answered yet. */
  private boolean blocked() {
    return blocked != null && !blocked.done();
  }

  /**
   * The reply of the last script (EVAL, FCALL) this connection sent, until it has answered: the
   * commands it sends after it wait in {@code waiting} meanwhile, as Redis runs a client's commands
   * in order (a keyless one would otherwise run before the script, or wait for its own script on
   * the event loop and get BUSY from it: ScriptWait). Reading stops once one has come, as for a
   * blocking pop.
   */
  private CompletableFuture<Frame> scriptAhead;

  /**
   * The commands this connection sends after the current one run once {@code reply} has completed
   * (the current command's reply completes later and what follows may depend on it: a script
   * compiled off the event loop before EVALSHA looks it up, a function library loaded on the lane
   * before FCALL finds it). Event loop only; outside EXEC's replay.
   */
  void runNextAfter(CompletableFuture<Frame> reply) {
    if (capture == null && !reply.isDone()) {
      scriptAhead = reply;
    }
  }

  /** A script this connection sent has not answered yet. */
  private boolean behindOwnScript() {
    CompletableFuture<Frame> s = scriptAhead;
    if (s == null) {
      return false;
    }
    if (s.isDone()) {
      scriptAhead = null;
      return false;
    }
    return true;
  }

  /**
   * True when {@code msg} is a command that must wait for a script holding the node (another
   * connection's: this one's own are waited for by behindOwnScript), which it would otherwise do on
   * the event loop, stalling every connection of the loop, SCRIPT KILL included (ScriptWait). Such a
   * command waits in {@code waiting} and runs once the script ended, or passed its busy threshold
   * (it is answered BUSY then, at once); a wake-up is arranged for both. One volatile read while no
   * script holds the node.
   */
  private boolean behindNodeScript(Object msg) {
    io.distcache.server.cluster.ScriptHost h = context.scriptHost();
    if (h == null || !h.holdsClients() || !(msg instanceof RespCommand c) || !ScriptWait.waitsForScript(this, c.args)) {
      return false;
    }
    if (scriptParking == null) {
      scriptParking = new io.distcache.server.cluster.ScriptParking(ctx.executor(), () -> {
        if (ctx.channel().isActive()) {
          runWaiting();
          updateAutoRead();
        }
      });
    }
    scriptParking.wakeAfter(h);
    return true;
  }

  /** Wakes the commands parked behind a script (made on first use; event loop only). */
  private io.distcache.server.cluster.ScriptParking scriptParking;

  /** This connection's event loop (blocking pops schedule their retries and timeouts there). */
  io.netty.util.concurrent.EventExecutor loop() {
    return ctx.executor();
  }

  /** QUIT: answer, then close; later commands are ignored. */
  void closeAfterReply() {
    closing = true;
  }

  /** The protocol version for replies from now on (HELLO, RESET). */
  void protocol(int version) {
    writer.protocol(version);
    client.protocol = version;
  }

  int protocol() {
    return writer.protocol();
  }

  // ---- client tracking ----

  /** CLIENT TRACKING state; made on the first CLIENT TRACKING ON. */
  private ClientTracking tracking;
  /** Where invalidations for this connection (or clients redirecting to it) queue; made on first use. */
  private volatile InvalidationOutbox outbox;
  /** A forwarded tracked read waits for this (its owner's registration) before it is sent. */
  private CompletableFuture<Void> trackingBarrier;

  ClientTracking tracking() {
    if (tracking == null) {
      tracking = new ClientTracking(this, client.id);
    }
    return tracking;
  }

  ClientTracking trackingIfAny() {
    return tracking;
  }

  InvalidationOutbox outbox() {
    InvalidationOutbox o = outbox;
    if (o == null) {
      synchronized (this) {
        o = outbox;
        if (o == null) {
          outbox = o = new InvalidationOutbox(this, ctx.channel(), context);
        }
      }
    }
    return o;
  }

  /** The dispatcher is about to run {@code spec}: a tracking connection remembers what it reads. */
  void beforeCommand(CommandSpec spec, byte[][] args) {
    ClientTracking t = tracking;
    if (t == null || !t.on) {
      return;
    }
    boolean routed = args.length > spec.firstKey() && spec.firstKey() > 0
        && (routing.flagsFor(args[spec.firstKey()]) & io.distcache.protocol.Flags.ROUTED) != 0;
    CompletableFuture<Void> f = t.beforeCommand(spec, args, context.trackingTable(), context.clusterTracking(), routed);
    if (f != null) {
      trackingBarrier = trackingBarrier == null ? f : CompletableFuture.allOf(trackingBarrier, f);
    }
  }

  // ---- pub/sub ----

  /** This connection's subscriptions; made on its first SUBSCRIBE. */
  private RespSubscriber subscriber;

  RespSubscriber subscriber() {
    if (subscriber == null) {
      subscriber = new RespSubscriber(this, client, ctx.channel(), context.pubSub(), context.outputLimit(), context.clock());
    }
    return subscriber;
  }

  /** RESP2 subscribed mode: only (P|S)(UN)SUBSCRIBE, PING, QUIT and RESET may run (Redis's rule). */
  boolean inSubscribedMode() {
    return subscriber != null && subscriber.total() > 0 && writer.protocol() == 2;
  }

  /** RESET, or the connection's end: every subscription goes. */
  void clearSubscriptions() {
    if (subscriber != null) {
      subscriber.clear();
    }
  }

  /**
   * On the event loop, between commands: writes a pushed message (pub/sub) after every reply issued
   * before it, in the protocol of the moment. Call {@link #pushed()} after a batch.
   */
  void push(java.util.function.Consumer<RespWriter> render) {
    if (closing || !ctx.channel().isActive()) {
      return;
    }
    ByteBuf target = writer.target();
    if (parked.isEmpty()) {
      writer.target(burst());
      pushing = true;
      try {
        render.accept(writer);
      } finally {
        pushing = false;
      }
      if (burst.readableBytes() >= FLUSH_BYTES) {
        flush();
      }
    } else {
      ByteBuf own = ctx.alloc().buffer();
      writer.target(own);
      render.accept(writer);
      parked.add(new Parked(null, null, own, writer.protocol(), null, null, 0, 0));
      countParked(own.readableBytes());
    }
    writer.target(target);
  }

  /** Sends what {@link #push} wrote (parked messages go out with the replies before them). */
  void pushed() {
    if (parked.isEmpty() && !flushQueued) {
      flush();
    }
  }

  // ---- Netty ----

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.meter = io.distcache.server.net.InputMeter.of(ctx.channel());
    this.tlsClient = ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class) != null;
    long now = context.clock().nanos();
    client = new ClientState(context.stats().nextClientId(), address(ctx.channel().remoteAddress()),
        address(ctx.channel().localAddress()), now);
    client.channel = ctx.channel();
    writer.errorStats(context.errorStats());
    writer.rollover(this::rollOver);
    context.stats().connected(client);
    routing = new ConnectionRouting(context.redirects(), context.cluster(), context.slotHistory());
    if (ctx.pipeline().get(RespPipeline.DECODER) instanceof RespDecoder decoder) {
      decoder.authGate(() -> !client.authenticated && context.users().authRequired());
    }
    if (context.protectedMode() && context.users().defaultHasNoPassword() && !isLoopback(ctx.channel().remoteAddress())) {
      // Redis's protected mode: told why, in Redis's words, then closed; nothing is executed.
      ClientLog.warn(log, "protected-mode", "refused {}: protected mode is on, the default user has no password and"
          + " the client is not on loopback (set --requirepass, or --protected-mode no)", client.address);
      closing = true;
      refused = true;
      if (ctx.pipeline().get(RespPipeline.DECODER) != null) {
        ctx.pipeline().remove(RespPipeline.DECODER); // raw bytes reach channelRead, which drops them
      }
      // Closed only after the client could read why: a close with its bytes unread would reset
      // the reply away (LingeringClose).
      io.distcache.server.net.LingeringClose.after(ctx.writeAndFlush(io.netty.buffer.Unpooled.copiedBuffer(
          "-" + RespErrors.DENIED + "\r\n", java.nio.charset.StandardCharsets.US_ASCII)));
    }
  }

  private static boolean isLoopback(SocketAddress a) {
    return a instanceof InetSocketAddress inet && inet.getAddress() != null && inet.getAddress().isLoopbackAddress()
        || !(a instanceof InetSocketAddress); // an embedded or local channel is not a remote client
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    context.stats().disconnected(client);
    clearSubscriptions();
    if (tracking != null && tracking.on && context.trackingTable() != null) {
      context.trackingTable().disable(tracking);
    }
    if (blocked != null) {
      blocked.cancel(); // unparked at once: nothing is popped for a client that is gone
    }
    releaseAll();
    transaction.unwatch(); // INFO's watching clients and watched keys; its bytes go with the next line
    memory.releaseAll();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof RespCommand) && !(msg instanceof RespProtocolError)) {
      ReferenceCountUtil.release(msg);
    } else if (inputRefused) {
      if (msg instanceof RespCommand c) {
        c.release(); // decoded in the same read as the refused request, after it: never run
      }
    } else if (!waiting.isEmpty() || behind() || blocked() || behindOwnScript() || behindNodeScript(msg)
        || turnOver()) {
      // While blocked, reading goes on until the client sends more (so a disconnect is seen at
      // once), then stops: what it sent runs after the blocking pop, as in Redis.
      if (msg instanceof RespCommand c) {
        waits(c);
      }
      if (msg instanceof RespCommand c && inFlightHeld > 0 && meter.full()) {
        // This connection stopped reading because its own requests in flight filled the bound:
        // what the last read completed waits, counted past the limit (one read at most), and is
        // not refused: the connection reads again as its replies are written.
        meter.holdInFlight(c.heldBytes, true);
        waiting.add(msg);
      } else if (msg instanceof RespCommand c && !meter.holdWaiting(c.heldBytes)) {
        refuseWaiting(c);
      } else {
        waiting.add(msg);
      }
      updateAutoRead();
    } else {
      handle(msg);
    }
  }

  /**
   * {@code c} waits to run, for as long as what is ahead of it takes (a blocking pop, a script):
   * its values are copied out of the read buffer they are slices of (RespCommand.detach).
   */
  private void waits(RespCommand c) {
    try {
      c.detach(ctx.alloc());
    } catch (RuntimeException | Error e) {
      // Out of direct memory (Netty's OutOfDirectMemoryError is an Error): exceptionCaught answers
      // it and closes; c is in neither waiting nor parked yet, so it is released here (a reviewer).
      c.release();
      throw e;
    }
  }

  /**
   * The node-wide input bound (InputBudget) has no room for {@code c} to wait: it is dropped and its
   * place taken by the refusal, which the client reads after the replies of what it sent before
   * (in order, as a protocol error is answered), and then the connection closes. Nothing more is
   * read meanwhile, so the connection holds nothing beyond the requests ahead of the refusal.
   */
  private void refuseWaiting(RespCommand c) {
    c.release();
    inputRefused = true;
    waiting.add(new RespProtocolError(meter.refusal(true)));
    if (ctx.pipeline().get(RespPipeline.DECODER) instanceof RespDecoder decoder) {
      decoder.discardInput();
    }
  }

  /** Set once a request was refused a place in {@code waiting}: what follows it is dropped. */
  private boolean inputRefused;
  /** This connection's share of the node-wide input bound (set in handlerAdded). */
  private io.distcache.server.net.InputMeter meter;

  /** Takes the next request that waited: it runs now, so the input bound no longer counts it. */
  private Object nextWaiting() {
    Object msg = waiting.poll();
    if (msg instanceof RespCommand c) {
      meter.releaseWaiting(c.heldBytes);
    }
    return msg;
  }

  /**
   * This connection's turn has run for TURN_NANOS (measured at the last request's start, which
   * execute reads anyway): what follows waits for the next turn (queueTurn). Starts a turn at
   * its first request.
   */
  private boolean turnOver() {
    if (turnStartNanos == 0) {
      turnStartNanos = context.clock().nanos();
      return false;
    }
    return client.lastCommandNanos - turnStartNanos >= TURN_NANOS;
  }

  /**
   * Queues the next turn of what waits, behind the loop's other I/O (once). Scheduled, not
   * executed: Netty runs tasks queued while it runs tasks in the same pass, for up to a second
   * (maxTaskProcessingQuantumMs), while a scheduled task due now waits for the next pass, which
   * polls every socket first.
   */
  private void queueTurn() {
    if (!turnQueued) {
      turnQueued = true;
      ctx.executor().schedule(() -> {
        turnQueued = false;
        turnStartNanos = 0;
        if (ctx.channel().isActive()) {
          runWaiting();
          updateAutoRead();
        }
      }, 0, java.util.concurrent.TimeUnit.NANOSECONDS);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    turnStartNanos = 0;
    if (!waiting.isEmpty() && !runningWaiting) {
      queueTurn(); // left from a turn that ran out (or behind something: the turn finds that out)
    }
    if (flushQueued) {
      return;
    }
    if (burst == null || !burst.isReadable() || closing) {
      flush();
      return;
    }
    flushQueued = true;
    FlushBatch.of(ctx.executor()).enqueue(this);
  }

  /** The end-of-cycle flush {@link FlushBatch} runs for this session. */
  @Override
  public void flushQueued() {
    flushQueued = false;
    if (ctx.channel().isActive()) {
      flush();
    } else {
      releaseAll();
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      if (blocked()) {
        // Redis frees a blocked client whose connection ends: unparked, nothing popped for it.
        blocked.cancel();
        closing = true;
        ctx.close();
        return;
      }
      // The client sent its last request (half-close). Like Redis, answer everything it sent,
      // then close: the replies still waiting for this cycle's flush must not be lost.
      inputClosed = true;
      finishIfInputClosed();
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  /** After a half-close: once every received request has run, flush and close after the replies. */
  private void finishIfInputClosed() {
    if (inputClosed && waiting.isEmpty() && !closing) {
      closing = true;
      flush();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    runWaiting();
    updateAutoRead();
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (DirectMemoryShortage.causedBy(cause)) {
      // A read or a reply could not get memory. Free what this connection holds first (the
      // decoder's bytes go when it is removed), so the few bytes of the reply can be found; the
      // reply itself is a buffer made at startup. The client reads why instead of a silent close.
      ClientLog.warn(log, "direct-memory", "closing Redis connection {}: out of memory while serving it ({})",
          client.address, cause.toString());
      releaseAll();
      if (ctx.pipeline().get(RespPipeline.DECODER) != null) {
        ctx.pipeline().remove(RespPipeline.DECODER); // hands its bytes here, which drops them
      }
      closing = true;
      ctx.writeAndFlush(DirectMemoryShortage.respReply()).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    log.debug("closing Redis connection {} after an error", client.address, cause);
    ctx.close();
  }

  // ---- internals ----

  private void handle(Object msg) {
    if (closing) {
      if (msg instanceof RespCommand command) {
        command.release();
      }
      return;
    }
    if (msg instanceof RespCommand command) {
      currentHeld = command.heldBytes;
      try {
        execute(prepared(command));
      } finally {
        command.release(); // what the command did not take (it failed, or never reached the store)
        this.command = null;
        currentHeld = 0;
      }
    } else {
      replyStarted = false;
      out().error("ERR " + ((RespProtocolError) msg).message);
      closing = true;
      lingerOnClose = true;
    }
    countParkedReply();
    if (burst != null && burst.readableBytes() + handedBytes >= FLUSH_BYTES) {
      flush();
    }
  }

  /**
   * The client is not keeping up, or its replies wait behind one that has not come: more would pile
   * up in the outbound buffer or the parked queue. Parked replies are bounded like unsent ones: by
   * count, by bytes (the channel's high water mark, the bound of the outbound buffer), and by the
   * node's budget for what connections hold (ClientMemory), so a pipeline of large replies behind a
   * slow one (a forward, a held write) waits unexecuted instead of filling the heap.
   */
  private boolean behind() {
    return !ctx.channel().isWritable() || parked.size() >= MAX_PARKED
        || parkedBytes > 0 && (parkedBytes >= ctx.channel().config().getWriteBufferHighWaterMark() || memory.spent())
        || inFlightHeld > 0 && meter.full() && !blocked(); // a blocked connection reads on, to see its close
  }

  /** The request being handled came from {@code waiting} (runWaiting), not from the read being handled. */
  private boolean currentFromWaiting;

  /**
   * The heap estimate (RespCommand.heldBytes) of the request being handled, until a reply it waits
   * for is parked (await) and takes it over; 0 outside handle (event loop only).
   */
  private long currentHeld;
  /**
   * What the requests whose replies are parked, not yet come, hold in the node-wide input bound:
   * their arguments stay on the heap until then (for the statistics and the slow log). While the
   * bound is full such a connection reads no more; it reads again once its own replies drain.
   */
  private long inFlightHeld;

  /**
   * Bytes of replies rendered into parked buffers (waiting behind a reply that has not come), not
   * yet written: counted in CLIENT LIST's omem and in the node's client budget (event loop only).
   */
  private long parkedBytes;
  /** The parked buffer the current command's reply goes into, counted once it is written (event loop only). */
  private ByteBuf parkedOwn;

  /** Counts the reply the last command rendered into a parked buffer, if it did. */
  private void countParkedReply() {
    ByteBuf own = parkedOwn;
    if (own != null) {
      parkedOwn = null;
      countParked(own.readableBytes());
    }
  }

  /** {@code bytes} more (or, negative, fewer) of rendered replies are parked. */
  private void countParked(long bytes) {
    if (bytes > 0) {
      memory.charge(bytes);
    } else {
      memory.release(-bytes);
    }
    parkedBytes += bytes;
    client.parkedBytes = parkedBytes;
    client.parkedReplies = parked.size();
  }

  /** Executes the requests held back while the client was behind, until it falls behind again. */
  private void runWaiting() {
    if (runningWaiting || waiting.isEmpty()) {
      return;
    }
    runningWaiting = true;
    try {
      while (!waiting.isEmpty() && !behind() && !blocked() && !behindOwnScript() && !behindNodeScript(waiting.peek())) {
        if (turnOver()) {
          queueTurn();
          break;
        }
        currentFromWaiting = true;
        try {
          handle(nextWaiting());
        } finally {
          currentFromWaiting = false;
        }
      }
    } finally {
      runningWaiting = false;
    }
    // The read that delivered these has completed, so no channelReadComplete will flush them.
    flush();
    finishIfInputClosed();
  }

  private void execute(byte[][] args) {
    if (CrossProtocol.isHttpLine(args[0])) {
      ClientLog.warn(log, "cross-protocol", "Possible SECURITY ATTACK detected: {} sent a {} line, as an HTTP request"
          + " carrying Redis commands would (cross-protocol scripting); connection closed, nothing after it executed",
          client.address, Args.latin1(args[0]));
      closing = true;
      return;
    }
    replyStarted = false;
    long start = context.clock().nanos();
    client.lastCommandNanos = start;
    current = null;
    currentParked = false;
    currentArgs = args;
    currentStart = start;
    long errorsBefore = writer.errors();
    try {
      if (tracking != null && tracking.noloop) {
        // NOLOOP: writes this command applies on this thread do not invalidate this client.
        io.distcache.server.tracking.TrackingTable.asWriter(client.id, () -> run(args));
      } else {
        run(args);
      }
    } catch (CommandException e) {
      out().error(e.getMessage());
    } catch (RuntimeException e) {
      log.warn("Redis command {} failed", Args.latin1(args[0]), e);
      out().error("ERR internal error: " + e.getClass().getSimpleName() + ": " + e.getMessage());
    }
    if (tracking != null) {
      tracking.afterCommand();
      trackingBarrier = null;
    }
    if (current != null && !currentParked) {
      finished(current, args, start, writer.errors() != errorsBefore);
    }
    if (context.monitors().active()) {
      context.monitors().feed(this, Redaction.of(shown(args)));
    }
    currentArgs = null;
  }

  private void run(byte[][] args) {
    if (TransactionCommands.queues(this, args)) {
      ScriptWait.beforeQueued(this, args);
      TransactionCommands.queue(this, args);
    } else {
      if (transaction.inMulti) {
        TransactionCommands.checkRunAtOnce(this, args);
      }
      commands.dispatch(this, args);
    }
  }

  /**
   * Takes a command's statistics once its reply is rendered: calls, time and failure, the slow log
   * and the latency monitor. Cheap for the usual command (a clock read, a few LongAdder adds and two
   * volatile reads); only a slow one allocates, for its slow-log entry.
   */
  private void finished(CommandSpec spec, byte[][] args, long startNanos, boolean failed) {
    long micros = (context.clock().nanos() - startNanos) / 1000;
    spec.stats().record(micros, failed);
    if (context.slowLog().isSlow(micros)) {
      context.slowLog().add(context.clock().millis() / 1000, micros, Redaction.of(shown(args)), client.address, client.name);
    }
    if (context.latencyMonitor().thresholdMillis() > 0) {
      context.latencyMonitor().commandTook(spec.flags().contains("fast"), micros, context.clock().millis() / 1000);
    }
  }

  private void render(CompletableFuture<Frame> response, Reply reply) {
    ByteBuf target = writer.target();
    int mark = target.writerIndex();
    try {
      reply.write(response.join(), writer);
    } catch (RuntimeException e) {
      if (reply instanceof LentValue lent) {
        lent.release(); // not rendered: the response failed
      }
      // A malformed response must not leave half a reply in the stream. A CommandException is the
      // client's error found while rendering (a MATCH pattern over its step budget): no log line.
      CommandException refusal = refusal(e);
      if (refusal == null) {
        log.warn("could not render a Redis reply", e);
      }
      if (writer.target() != target) {
        // part of a large reply was handed to the channel already (rollOver): it cannot be taken back
        closing = true;
        ctx.close();
        return;
      }
      target.writerIndex(mark);
      writer.error(refusal != null ? refusal.getMessage() : "ERR internal error: " + e.getMessage());
    }
  }

  /** The CommandException {@code e} is or carries (a future's CompletionException), or null. */
  private static CommandException refusal(RuntimeException e) {
    if (e instanceof CommandException c) {
      return c;
    }
    return e instanceof java.util.concurrent.CompletionException && e.getCause() instanceof CommandException c ? c : null;
  }

  private void drain() {
    if (!ctx.channel().isActive()) {
      releaseAll();
      return;
    }
    int protocol = writer.protocol();
    while (!parked.isEmpty()) {
      Parked p = parked.peek();
      if (p.response != null && !p.response.isDone()) {
        break;
      }
      parked.poll();
      releaseInFlight(p);
      ByteBuf out = burst();
      if (p.rendered != null) {
        int bytes = p.rendered.readableBytes();
        out.writeBytes(p.rendered);
        p.rendered.release();
        countParked(-bytes);
      } else {
        writer.protocol(p.protocol);
        writer.target(out);
        long errorsBefore = writer.errors();
        render(p.response, p.reply);
        if (p.command != null) {
          finished(p.command, p.args, p.startNanos, writer.errors() != errorsBefore);
        }
      }
      if (out.readableBytes() >= FLUSH_BYTES) {
        flush();
      }
    }
    writer.protocol(protocol);
    flush();
    runWaiting();
    updateAutoRead();
  }

  private void flush() {
    if (refused) {
      return; // LingeringClose closes it
    }
    boolean closeNow = closing && parked.isEmpty();
    boolean handed = handedBytes > 0;
    handedBytes = 0;
    if (closeNow && lingerOnClose) {
      ByteBuf out = io.netty.buffer.Unpooled.EMPTY_BUFFER;
      if (burst != null && burst.isReadable()) {
        out = burst;
      } else if (burst != null) {
        burst.release();
      }
      burst = null;
      refused = true; // from now on LingeringClose owns the connection
      io.distcache.server.net.LingeringClose.after(ctx.writeAndFlush(out));
      return;
    }
    if (burst != null && burst.isReadable()) {
      ByteBuf out = burst;
      burst = null;
      burstHint = Math.max(MIN_BURST_BYTES, Math.min(MAX_BURST_HINT_BYTES, out.readableBytes()));
      if (closeNow) {
        ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
      } else {
        ctx.writeAndFlush(out, ctx.voidPromise());
      }
    } else if (closeNow) {
      ctx.close();
    } else if (handed) {
      ctx.flush();
    }
  }

  /**
   * RespWriter's Rollover: while the reply being written goes into the burst buffer (no reply
   * parked before it, no MULTI capture, no push that will restore another target), hands the burst
   * to the channel unflushed, behind every reply before it, and starts a fresh one of {@code bytes}.
   * The fresh one ends up holding the reply's last piece, so the usual flush of a non-empty burst
   * flushes what was handed over too.
   */
  private ByteBuf rollOver(int bytes) {
    if (pushing || capture != null || refused || burst == null || writer.target() != burst) {
      return null;
    }
    ByteBuf full = burst;
    burst = ctx.alloc().ioBuffer(bytes);
    if (full.isReadable()) {
      handedBytes += full.readableBytes();
      ctx.write(full, ctx.voidPromise());
    } else {
      full.release();
    }
    writer.target(burst);
    return burst;
  }

  private ByteBuf burst() {
    if (burst == null) {
      burst = ctx.alloc().ioBuffer(burstHint);
    }
    return burst;
  }

  private void updateAutoRead() {
    if (refused) {
      return; // LingeringClose keeps reading to drain the input
    }
    boolean read = !behind() && waiting.isEmpty() && !closing;
    if (ctx.channel().config().isAutoRead() != read) {
      ctx.channel().config().setAutoRead(read);
    }
  }

  private void releaseAll() {
    if (burst != null) {
      burst.release();
      burst = null;
    }
    for (Parked p : parked) {
      if (p.rendered != null) {
        p.rendered.release();
      }
      if (p.reply instanceof LentValue lent) {
        lent.release(); // a lent value whose reply is never rendered
      }
      releaseInFlight(p);
    }
    parked.clear();
    parkedOwn = null;
    if (parkedBytes > 0) {
      countParked(-parkedBytes);
    }
    while (!waiting.isEmpty()) {
      if (nextWaiting() instanceof RespCommand c) {
        c.release();
      }
    }
  }

  private static String address(SocketAddress a) {
    if (a instanceof InetSocketAddress inet) {
      return inet.getAddress() == null
          ? inet.getHostString() + ":" + inet.getPort()
          : inet.getAddress().getHostAddress() + ":" + inet.getPort();
    }
    return String.valueOf(a);
  }

  /** A reply waiting for an earlier one: a pending response, or an immediate reply already rendered. */
  private record Parked(CompletableFuture<Frame> response, Reply reply, ByteBuf rendered, int protocol,
      CommandSpec command, byte[][] args, long startNanos, long held) {}

  /** A parked reply has been written or dropped: the request's share of the input bound goes (event loop only). */
  private void releaseInFlight(Parked p) {
    if (p.held > 0) {
      meter.releaseWaiting(p.held);
      inFlightHeld -= p.held;
    }
  }
}
