package io.distcache.server.resp;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ScriptCodec;
import io.distcache.protocol.Status;
import io.distcache.server.cluster.ScriptCalls;
import io.distcache.server.cluster.ScriptHost;
import io.distcache.server.cluster.ScriptRunner;
import io.distcache.server.net.ClientLog;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the owner's side of a script. ScriptHost calls run() on its lane with every key of the
 * node held; the script's redis.call goes through the node's own command table, exactly as a
 * client's command does (name and arity checks, ACL checks for the user the script was sent by,
 * the command's handler), on a session with no connection whose capture runs each binary request
 * the handler builds at once through ScriptCalls (under the held keys) and renders its reply into
 * a buffer, in the protocol the script chose (redis.setresp). That RESP reply is read back into
 * Lua (LuaReplies), which is how Redis itself converts replies. So every command a client can send
 * works in a script with the same replies and errors, with no second implementation.
 *
 * An FCALL (a SCRIPT request flagged FUNCTION) runs the named function of the library whose code
 * it carries, taken from FunctionLoader (loaded into this engine on first use), the same way.
 *
 * Refused inside scripts, as Redis refuses them: commands flagged noscript, connection-state
 * commands (HELLO, AUTH, CLIENT, QUIT, RESET, MONITOR), the EVAL family and SCRIPT; a write from a
 * read-only script (EVAL_RO, EVALSHA_RO, a "#!lua flags=no-writes" script); a command whose answer
 * needs other members (a cluster-wide KEYS on a plain connection cannot be waited for while this
 * node's keys are held).
 */

/** Runs SCRIPT requests' Lua with Redis's API (the node's {@link ScriptRunner}). */
final class LuaScripts implements ScriptRunner {
  private static final Logger log = LoggerFactory.getLogger(LuaScripts.class);
  private static final Set<String> DENIED = Set.of("hello", "auth", "client", "quit", "reset", "monitor", "eval",
      "evalsha", "eval_ro", "evalsha_ro", "script", "multi", "exec", "discard", "watch", "unwatch", "subscribe",
      "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "shutdown");
  /**
   * Redis 7.0's noscript commands this node does not have, with their arity (negative: at least):
   * a script calling one gets Redis's "not allowed" (or its arity error), not "Unknown command".
   */
  private static final Map<String, Integer> REDIS_NOSCRIPT = Map.ofEntries(
      Map.entry("blpop", -3), Map.entry("brpop", -3), Map.entry("brpoplpush", 4),
      Map.entry("blmove", 6), Map.entry("bgrewriteaof", 1), Map.entry("bgsave", -1),
      Map.entry("save", 1), Map.entry("debug", -2), Map.entry("failover", -1),
      Map.entry("psync", -3), Map.entry("replconf", -1), Map.entry("replicaof", 3),
      Map.entry("slaveof", 3), Map.entry("role", 1), Map.entry("sync", 1),
      Map.entry("wait", 3), Map.entry("module", -2));

  private final RespContext context;
  private final ScriptCache cache;
  private final LuaEngine engine;
  private final FunctionLoader functions;

  LuaScripts(RespContext context, ScriptCache cache) {
    this.context = context;
    this.cache = cache;
    this.engine = new LuaEngine(context.store().config().maxValueBytes());
    this.functions = new FunctionLoader(engine, context);
  }

  /** Loads function libraries into this engine (FUNCTION LOAD and RESTORE run it on the script lane). */
  FunctionLoader functions() {
    return functions;
  }

  @Override
  public Frame run(Frame request, ScriptCodec.Script script, ScriptCalls calls) {
    RespWriter w = new RespWriter();
    w.protocol(script.resp3() ? 3 : 2);
    // A reply larger than the node's limit is refused anyway: stop writing it there, not after.
    ByteBuf out = Unpooled.buffer(64, (int) Math.min(Integer.MAX_VALUE - 8L, context.limits().maxRequestBytes() + 1L));
    w.target(out);
    try {
      ScriptCache.Script compiled = null;
      LuaEngine.Registered function = null;
      try {
        if (script.isFunction()) {
          function = functions.instance(script.body()).get(script.function());
          if (function == null) {
            throw new CommandException("ERR Function not found");
          }
        } else {
          compiled = cache.load(script.body());
        }
      } catch (CommandException e) {
        w.error(e.getMessage());
        return reply(request, out);
      }
      String name = function != null ? function.name() : compiled.sha();
      boolean noWrites = function != null ? (function.flags() & 1) != 0 : compiled.noWrites();
      Run run = new Run(script, name, noWrites, calls);
      LuaTable keys = new LuaTable(script.keys().size(), 0);
      for (int i = 0; i < script.keys().size(); i++) {
        keys.rawset(i + 1, LuaValue.valueOf(script.keys().get(i)));
      }
      LuaTable argv = new LuaTable(script.args().size(), 0);
      for (int i = 0; i < script.args().size(); i++) {
        argv.rawset(i + 1, LuaValue.valueOf(script.args().get(i)));
      }
      try {
        ScriptMemory memory = new ScriptMemory(context.scriptMemoryBytes(), context.heapBudgets());
        LuaValue result = function != null ? engine.call(function.callback(), keys, argv, run, memory)
            : engine.run(compiled.prototype(), keys, argv, run, memory);
        LuaReplies.write(result, w, run.resp);
      } catch (LuaError e) {
        out.clear();
        w.error(LuaEngine.errorReply(e, name));
      } catch (StackOverflowError e) {
        out.clear();
        w.error("ERR reached lua stack limit script: " + name);
      } catch (OutOfMemoryError e) {
        out.clear();
        w.error("ERR the script ran out of memory script: " + name);
      } catch (IndexOutOfBoundsException e) {
        out.clear(); // the bounded reply buffer is full
        w.error("ERR the script ran, but its reply exceeds the node's limit of " + context.limits().maxRequestBytes()
            + " bytes script: " + name);
      }
      return reply(request, out);
    } catch (RuntimeException e) {
      log.warn("script failed inside the node", e);
      return request.replyError(Status.INTERNAL_ERROR, "script failed inside the node: " + e);
    }
  }

  private Frame reply(Frame request, ByteBuf out) {
    byte[] bytes = new byte[out.readableBytes()];
    out.readBytes(bytes);
    long limit = context.limits().maxRequestBytes();
    if (bytes.length > limit) {
      return request.replyError(Status.TOO_LARGE, "the script ran, but its reply of " + bytes.length
          + " bytes exceeds the node's limit of " + limit + " bytes");
    }
    return request.replyValue(bytes);
  }

  /** One script run: the redis table's view of the node. */
  private final class Run implements LuaEngine.Bridge {
    private final ScriptCodec.Script script;
    private final String name;
    private final boolean noWrites;
    private final ScriptCalls calls;
    private final RespSession session;
    int resp = 2;

    Run(ScriptCodec.Script script, String name, boolean noWrites, ScriptCalls calls) {
      this.script = script;
      this.name = name;
      this.noWrites = noWrites;
      this.calls = calls;
      ClientState client = new ClientState(0, "script", "script", context.clock().nanos());
      client.user = script.user();
      client.authenticated = true;
      this.session = RespSession.forScript(context, client);
    }

    @Override
    public LuaValue call(Varargs a, boolean raise) {
      LuaValue reply = dispatch(a);
      if (raise && reply.istable() && reply.get("err").isstring()) {
        throw engine.raise((LuaTable) reply);
      }
      return reply;
    }

    private LuaValue dispatch(Varargs a) {
      if (a.narg() == 0) {
        return LuaEngine.errorTable("ERR Please specify at least one argument for this redis lib call");
      }
      byte[][] args = new byte[a.narg()][];
      for (int i = 0; i < args.length; i++) {
        LuaValue v = a.arg(i + 1);
        if (v.type() == LuaValue.TSTRING) {
          args[i] = LuaEngine.bytes((LuaString) v);
        } else if (v.type() == LuaValue.TNUMBER) {
          args[i] = LuaEngine.bytes(LuaNumbers.argument(v)); // "%.17g", as Redis passes numbers
        } else {
          return LuaEngine.errorTable("ERR Lua redis lib command arguments must be strings or integers");
        }
      }
      CommandTable.Checked checked;
      try {
        checked = context.commands().check(args);
      } catch (CommandException e) {
        String m = e.getMessage();
        if (m.startsWith("ERR unknown command")) {
          Integer arity = REDIS_NOSCRIPT.get(new String(args[0], StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT));
          if (arity == null) {
            return LuaEngine.errorTable("ERR Unknown Redis command called from script");
          }
          if (arity > 0 ? args.length != arity : args.length < -arity) {
            return LuaEngine.errorTable("ERR Wrong number of args calling Redis command from script");
          }
          return LuaEngine.errorTable("ERR This Redis command is not allowed from script");
        }
        if (m.startsWith("ERR wrong number of arguments")) {
          return LuaEngine.errorTable("ERR Wrong number of args calling Redis command from script");
        }
        return LuaEngine.errorTable(m);
      }
      CommandSpec top = checked.top();
      if (top.flags().contains("noscript") || checked.spec().flags().contains("noscript")
          || DENIED.contains(top.name())) {
        return LuaEngine.errorTable("ERR This Redis command is not allowed from script");
      }
      if (checked.spec().flags().contains("write") || top.flags().contains("write")) {
        if (script.readOnly() || noWrites) {
          return LuaEngine.errorTable("ERR Write commands are not allowed from read-only scripts.");
        }
        calls.markWrite();
      }
      ByteBuf buf = Unpooled.buffer(64);
      ScriptCapture capture = new ScriptCapture(calls, buf, resp);
      session.capture(capture);
      session.protocol(resp);
      try {
        context.commands().dispatch(session, args);
      } catch (CommandException | ScriptHost.Refused e) {
        buf.clear();
        return LuaEngine.errorTable(scriptWording(e.getMessage()));
      } finally {
        session.capture(null);
      }
      if (!buf.isReadable()) {
        return LuaEngine.errorTable("ERR the command produced no reply");
      }
      engine.checkMemory(2L * buf.readableBytes()); // the reply as Lua values: its strings and their tables
      return LuaReplies.toLua(buf);
    }

    /** ACL refusals are worded for scripts in Redis (checked against Redis 7.0.15). */
    private static String scriptWording(String message) {
      if (message.startsWith("NOPERM User ")) {
        return "ERR The user executing the script can't run this command or subcommand";
      }
      if (message.equals(RespErrors.NOPERM_KEY)) {
        return "ERR The user executing the script can't access at least one of the keys mentioned in the command"
            + " arguments";
      }
      return message;
    }

    @Override
    public void log(int level, String message) {
      String text = (script.isFunction() ? "function " : "script ") + name + ": " + message;
      switch (level) {
        case 3 -> ClientLog.warn(log, "script-log-warning", "{}", text);
        case 2 -> ClientLog.info(log, "script-log-notice", "{}", text);
        default -> log.debug("{}", text);
      }
    }

    @Override
    public void setResp(int version) {
      resp = version;
    }

    @Override
    public boolean killRequested() {
      return calls.killRequested();
    }
  }

  /** A capture that runs each request at once under the script's held keys and renders its reply. */
  private static final class ScriptCapture extends TransactionCommands.Capture {
    private final ScriptCalls calls;
    private final ByteBuf buf;
    private final int resp;

    ScriptCapture(ScriptCalls calls, ByteBuf buf, int resp) {
      this.calls = calls;
      this.buf = buf;
      this.resp = resp;
    }

    @Override
    CompletableFuture<Frame> send(Frame request) {
      return CompletableFuture.completedFuture(calls.call(request));
    }

    @Override
    void await(CompletableFuture<Frame> response, RespSession.Reply reply) {
      if (!response.isDone()) {
        throw new CommandException("ERR this command needs other cluster members, which a script cannot wait for");
      }
      RespWriter w = new RespWriter();
      w.protocol(resp);
      w.target(buf);
      reply.write(response.join(), w);
    }

    @Override
    ByteBuf direct() {
      return buf;
    }
  }
}
