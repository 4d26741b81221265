package io.distcache.server.resp;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ScriptCodec;
import io.distcache.protocol.Status;
import io.distcache.server.cluster.ClusterWide;
import io.distcache.server.cluster.ScriptHost;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/*
 * Design: the entry node's side of scripting. EVAL and EVALSHA resolve the script here (EVALSHA in
 * this node's cache: NOSCRIPT when it is not there; EVAL compiles it, so a syntax error is answered
 * without a hop, and caches it, as Redis does; compiling happens off the event loop, ScriptCompiler,
 * and the connection's later commands wait for the EVAL's reply) and send one SCRIPT request carrying the body, the
 * connection's ACL user, the keys and the arguments through the router's one serve-or-forward
 * decision: run on this node's lane, forwarded whole to the owner of the keys' slot, -MOVED for a
 * cluster connection, CROSSSLOT for keys of several slots. The owner's reply is already the RESP
 * reply this connection reads (rendered in its protocol), so it is copied as it is.
 *
 * Inside MULTI the command is queued like any other and resolved when EXEC replays the queue, as
 * Redis resolves it at EXEC: an EVALSHA of a script this node does not have fails its own slot of
 * the EXEC array with NOSCRIPT, and the SCRIPT request joins the transaction's batch, which runs
 * whole on its owner's script lane (TransactionCommands, ScriptHost.holdingAll).
 *
 * SCRIPT LOAD, EXISTS and FLUSH act on this node's cache, as in Redis Cluster, where each node has
 * its own; a forwarded script needs none on its owner, since it travels whole. SCRIPT KILL on a
 * plain connection of a cluster goes to every member (the script it means runs on the owner its
 * EVAL was forwarded to).
 */

/** EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT LOAD/EXISTS/FLUSH/KILL/HELP. */
final class ScriptCommands {
  private ScriptCommands() {}

  static final String NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL.";
  static final String NOTBUSY = "NOTBUSY No scripts in execution right now.";
  static final String UNKILLABLE = "UNKILLABLE Sorry the script already executed write commands against the dataset."
      + " You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE"
      + " command.";

  static void register(CommandTable.Registry r) {
    String flags = "noscript skip_monitor may_replicate no_mandatory_keys stale movablekeys";
    r.add("eval", -3, flags, "scripting", (s, a) -> eval(s, a, false, false));
    r.add("evalsha", -3, flags, "scripting", (s, a) -> eval(s, a, true, false));
    String ro = "noscript skip_monitor no_mandatory_keys stale readonly movablekeys";
    r.add("eval_ro", -3, ro, "scripting", (s, a) -> eval(s, a, false, true));
    r.add("evalsha_ro", -3, ro, "scripting", (s, a) -> eval(s, a, true, true));
    r.addContainer("script", -2, "", "scripting", null, List.of(
        CommandTable.Registry.sub("load", 3, "noscript stale", "scripting", ScriptCommands::load),
        CommandTable.Registry.sub("exists", -3, "noscript stale", "scripting", ScriptCommands::exists),
        CommandTable.Registry.sub("flush", -2, "noscript", "scripting", ScriptCommands::flush),
        CommandTable.Registry.sub("kill", 2, "noscript allow_busy", "scripting", ScriptCommands::kill),
        CommandTable.Registry.sub("help", 2, "loading stale", "scripting", ScriptCommands::help)));
  }

  private static void eval(RespSession s, byte[][] a, boolean bySha, boolean readOnly) {
    long numKeys = Args.parseLong(a[2]);
    checkNumKeys(numKeys, a.length);
    requireScripting(s);
    ScriptCache cache = s.context().scriptCache();
    int n = (int) numKeys;
    List<byte[]> keys = keysOf(a, n);
    List<byte[]> args = argsOf(a, n);
    if (bySha) {
      ScriptCache.Script script = a[1].length == 40 ? cache.get(Args.latin1(a[1])) : null;
      if (script == null) {
        throw new CommandException(NOSCRIPT);
      }
      route(s, request(s, script, keys, args, readOnly));
      return;
    }
    if (s.capturing()) {
      route(s, request(s, inExec(s, a[1]), keys, args, readOnly));
      return;
    }
    CompletableFuture<ScriptCache.Script> compiled = s.context().scriptCompiler().load(cache, a[1]);
    if (compiled.isDone()) {
      route(s, request(s, now(compiled), keys, args, readOnly));
      return;
    }
    // Compiled off the event loop (ScriptCompiler): sent from the loop once compiled, and what this
    // connection sends next waits for the script's reply, as it does behind any script.
    CompletableFuture<Frame> reply = s.onEventLoop(compiled.handle((script, e) -> script),
        script -> script == null ? COMPILE_FAILED : s.send(request(s, script, keys, args, readOnly)));
    s.runNextAfter(reply);
    s.await(reply, (r, w) -> {
      if (compiled.isCompletedExceptionally()) {
        w.error(compileError(compiled));
      } else {
        SCRIPT_REPLY.write(r, w);
      }
    });
  }

  /**
   * In EXEC's replay: the script EXEC had compiled for {@code body} before it (TransactionCommands),
   * or its compile error; compiled here only for a body EXEC did not see (not from a client's queue).
   */
  private static ScriptCache.Script inExec(RespSession s, byte[] body) {
    CompletableFuture<ScriptCache.Script> c = s.precompiled(body);
    return c == null || !c.isDone() ? s.context().scriptCache().load(body) : now(c);
  }

  /** The script of a finished compile, or its error thrown as the command's. */
  private static ScriptCache.Script now(CompletableFuture<ScriptCache.Script> compiled) {
    if (compiled.isCompletedExceptionally()) {
      throw new CommandException(compileError(compiled));
    }
    return compiled.join();
  }

  /** Stands for a failed compile in a reply future; the error is the compile's. */
  private static final CompletableFuture<Frame> COMPILE_FAILED =
      CompletableFuture.completedFuture(Frame.request(Opcode.SCRIPT, null).replyError(Status.BAD_REQUEST, "compile"));

  /** The error text of a compile that failed: Redis's, or the compiler's bound. */
  static String compileError(CompletableFuture<?> compiled) {
    try {
      compiled.join();
      throw new IllegalStateException("the compile did not fail");
    } catch (java.util.concurrent.CompletionException e) {
      Throwable cause = e.getCause();
      return cause instanceof CommandException ? cause.getMessage()
          : "ERR Error compiling script (new function): " + cause;
    }
  }

  private static Frame request(RespSession s, ScriptCache.Script script, List<byte[]> keys, List<byte[]> args,
      boolean readOnly) {
    long flags = (readOnly || script.noWrites() ? ScriptCodec.READ_ONLY : 0) | (s.protocol() == 3 ? ScriptCodec.RESP3 : 0);
    return ScriptCodec.request(script.body(), s.client().user, keys, args, flags);
  }

  /** EVAL-shaped arguments (name, numkeys, keys..., args...): numkeys within 0..the arguments left. */
  static void checkNumKeys(long numKeys, int argc) {
    if (numKeys < 0) {
      throw new CommandException("ERR Number of keys can't be negative");
    }
    if (numKeys > argc - 3) {
      throw new CommandException("ERR Number of keys can't be greater than number of args");
    }
  }

  static void requireScripting(RespSession s) {
    if (s.context().scriptHost() == null) {
      throw new CommandException("ERR scripting is not available on this node (no executor behind its Redis protocol)");
    }
  }

  /** The {@code n} keys of EVAL-shaped arguments. */
  static List<byte[]> keysOf(byte[][] a, int n) {
    List<byte[]> keys = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      keys.add(a[3 + i]);
    }
    return keys;
  }

  /** The arguments after the {@code n} keys of EVAL-shaped arguments. */
  static List<byte[]> argsOf(byte[][] a, int n) {
    List<byte[]> args = new ArrayList<>(a.length - 3 - n);
    for (int i = 3 + n; i < a.length; i++) {
      args.add(a[i]);
    }
    return args;
  }

  /** Sends a SCRIPT frame to its slot's owner and writes the script's reply (already RESP) or the error. */
  static void route(RespSession s, Frame request) {
    s.route(request, SCRIPT_REPLY);
  }

  /** A SCRIPT response as the command's reply: the script's (already RESP), or the error. */
  private static final RespSession.Reply SCRIPT_REPLY = (r, w) -> {
    if (r.status() == Status.OK) {
      w.raw(Unpooled.wrappedBuffer(r.value()));
    } else {
      w.error(RespErrors.fromStatus(r, false));
    }
  };

  /** SCRIPT LOAD: compiled off the event loop (ScriptCompiler); the connection's next commands wait for it. */
  private static void load(RespSession s, byte[][] a) {
    if (s.capturing()) {
      s.out().bulk(inExec(s, a[2]).sha());
      return;
    }
    CompletableFuture<ScriptCache.Script> compiled = s.context().scriptCompiler().load(s.context().scriptCache(), a[2]);
    if (compiled.isDone()) {
      s.out().bulk(now(compiled).sha());
      return;
    }
    CompletableFuture<Frame> reply = compiled.handle((script, e) -> LOADED);
    s.runNextAfter(reply);
    s.await(reply, (r, w) -> {
      if (compiled.isCompletedExceptionally()) {
        w.error(compileError(compiled));
      } else {
        w.bulk(compiled.join().sha());
      }
    });
  }

  /** Stands for SCRIPT LOAD's compile in its reply future. */
  private static final Frame LOADED = Frame.request(Opcode.SCRIPT, null).replyOk();

  private static void exists(RespSession s, byte[][] a) {
    RespWriter w = s.out();
    w.array(a.length - 2);
    for (int i = 2; i < a.length; i++) {
      w.integer(s.context().scriptCache().contains(Args.latin1(a[i])) ? 1 : 0);
    }
  }

  private static void flush(RespSession s, byte[][] a) {
    if (a.length > 3 || a.length == 3 && !Args.is(a[2], "async") && !Args.is(a[2], "sync")) {
      throw new CommandException("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    s.context().scriptCache().clear();
    s.out().ok();
  }

  private static void kill(RespSession s, byte[][] a) {
    kill(s, false);
  }

  /**
   * SCRIPT KILL ({@code function} false) or FUNCTION KILL: on every member for a plain connection
   * in a cluster (the running script may be on any), else on this node.
   */
  static void kill(RespSession s, boolean function) {
    ClusterWide wide = s.context().clusterWide();
    boolean everyMember = wide != null && s.routing() != null && !s.routing().perNode()
        && s.context().cluster().placement().size() > 1;
    Frame local = function ? Frame.request(Opcode.SCRIPT_KILL, 0, null, null, ScriptHost.KILL_FUNCTION)
        : Frame.request(Opcode.SCRIPT_KILL, null);
    java.util.concurrent.CompletableFuture<Frame> answer = everyMember ? wide.scriptKill(function)
        : s.context().router().route(local);
    s.await(answer, (r, w) -> {
      switch (r.status()) {
        case OK -> w.ok();
        case NOT_FOUND -> w.error(NOTBUSY);
        case CONDITION_FAILED -> w.error(UNKILLABLE);
        default -> w.error(RespErrors.fromStatus(r, false));
      }
    });
  }

  private static void help(RespSession s, byte[][] a) {
    String[] lines = {
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Print this help."};
    ConnectionCommands.helpReply(s, "SCRIPT", List.of(lines));
  }
}
