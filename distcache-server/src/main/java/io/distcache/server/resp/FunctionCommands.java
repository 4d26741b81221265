package io.distcache.server.resp;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ScriptCodec;
import io.distcache.protocol.Status;
import io.distcache.server.cluster.ScriptHost;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/*
 * Design: Redis 7's functions on top of the scripting machinery (ScriptCommands, ScriptHost,
 * LuaScripts). The node keeps its libraries in a FunctionRegistry; FUNCTION LOAD and RESTORE load
 * each library on the script lane (FunctionLoader, with the load time limit and the script limits)
 * before the registry takes it, so a library that fails to load is never listed.
 *
 * FCALL and FCALL_RO look the function up here (Function not found, the *_ro check, no-cluster)
 * and then travel exactly as EVAL does: one SCRIPT request flagged FUNCTION, carrying the library's
 * code and the function's name, through the router's one serve-or-forward decision (run on this
 * node's lane, forwarded whole to the owner of the keys' slot, -MOVED for a cluster connection,
 * CROSSSLOT). The owner needs no copy of the library: it loads the code it was sent (and keeps it,
 * see FunctionLoader), so a plain connection's FCALL works through any node that holds it.
 *
 * LOAD, RESTORE, DELETE and FLUSH change the registry on the script lane (onLane), one at a time in
 * the order they were queued, then send the change to the other members (FunctionSync.push), whose
 * answers the reply waits for: a cluster client's FCALL on another node finds the library (the
 * libraries are the same on every member, unlike Redis Cluster's per-node ones).
 */

/** FCALL, FCALL_RO and FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE/STATS/KILL/HELP. */
final class FunctionCommands {
  private FunctionCommands() {}

  static final String NOT_FOUND = "ERR Function not found";
  static final String RO_WRITE = "ERR Can not execute a script with write flag using *_ro command.";
  static final String NO_CLUSTER = "ERR Can not run script on cluster, 'no-cluster' flag is set.";

  static void register(CommandTable.Registry r) {
    r.add("fcall", -3, "noscript skip_monitor may_replicate no_mandatory_keys stale movablekeys", "scripting",
        (s, a) -> fcall(s, a, false));
    r.add("fcall_ro", -3, "noscript skip_monitor no_mandatory_keys stale readonly movablekeys", "scripting",
        (s, a) -> fcall(s, a, true));
    r.addContainer("function", -2, "", "scripting", null, List.of(
        CommandTable.Registry.sub("load", -3, "write denyoom noscript", "scripting", FunctionCommands::load),
        CommandTable.Registry.sub("delete", 3, "write noscript", "scripting", FunctionCommands::delete),
        CommandTable.Registry.sub("flush", -2, "write noscript", "scripting", FunctionCommands::flush),
        CommandTable.Registry.sub("list", -2, "noscript", "scripting", FunctionCommands::list),
        CommandTable.Registry.sub("dump", 2, "noscript", "scripting", FunctionCommands::dump),
        CommandTable.Registry.sub("restore", -3, "write denyoom noscript", "scripting", FunctionCommands::restore),
        CommandTable.Registry.sub("stats", 2, "noscript allow_busy", "scripting", FunctionCommands::stats),
        CommandTable.Registry.sub("kill", 2, "noscript allow_busy", "scripting", FunctionCommands::kill),
        CommandTable.Registry.sub("help", 2, "loading stale", "scripting", FunctionCommands::help)));
  }

  private static void fcall(RespSession s, byte[][] a, boolean readOnlyCommand) {
    String name = new String(a[1], StandardCharsets.UTF_8);
    FunctionLibrary lib = s.context().functionRegistry().libraryOf(name);
    if (lib == null) {
      throw new CommandException(NOT_FOUND);
    }
    FunctionLibrary.Function function = lib.functions().get(name);
    long numKeys = Args.parseLong(a[2], "ERR Bad number of keys provided");
    ScriptCommands.checkNumKeys(numKeys, a.length);
    if (readOnlyCommand && !function.noWrites()) {
      throw new CommandException(RO_WRITE);
    }
    if (function.noCluster() && s.context().cluster() != null && s.context().cluster().placement().size() > 1) {
      throw new CommandException(NO_CLUSTER);
    }
    ScriptCommands.requireScripting(s);
    int n = (int) numKeys;
    List<byte[]> keys = ScriptCommands.keysOf(a, n);
    List<byte[]> args = ScriptCommands.argsOf(a, n);
    long flags = (readOnlyCommand || function.noWrites() ? ScriptCodec.READ_ONLY : 0)
        | (readOnlyCommand ? ScriptCodec.FCALL_RO : 0) | (s.protocol() == 3 ? ScriptCodec.RESP3 : 0);
    Frame request = ScriptCodec.request(lib.code(), s.client().user, name, keys, args, flags);
    ScriptCommands.route(s, request);
  }

  private static void load(RespSession s, byte[][] a) {
    boolean replace = false;
    for (int i = 2; i < a.length - 1; i++) {
      if (Args.is(a[i], "replace")) {
        replace = true;
      } else {
        throw new CommandException("ERR Unknown option given: " + new String(a[i], StandardCharsets.UTF_8));
      }
    }
    byte[] code = a[a.length - 1];
    String name = FunctionLibrary.parseName(code);
    if (code.length > FunctionRegistry.MAX_CODE_BYTES) {
      // Refused before its top-level code runs: it could never be kept.
      throw new CommandException("ERR the library's " + code.length + " bytes of code exceed the limit of "
          + FunctionRegistry.MAX_CODE_BYTES + " (function-max-code-bytes)");
    }
    FunctionRegistry registry = s.context().functionRegistry();
    if (!replace && registry.contains(name) && !registry.fromPeer(name, code)) {
      throw new CommandException("ERR Library '" + name + "' already exists");
    }
    boolean replacing = replace;
    onLane(s, code.length, loader -> {
      if (!replacing && registry.fromPeer(name, code)) {
        return new Change(name, null); // a cluster client's LOAD on every primary: here already, not run again
      }
      FunctionLibrary lib = loader.load(name, code, Long.MAX_VALUE);
      return new Change(name, registry.load(lib, replacing));
    }, (name2, w) -> w.bulk(name2));
  }

  private static void restore(RespSession s, byte[][] a) {
    if (a.length > 4) {
      throw new CommandException("ERR unknown subcommand or wrong number of arguments for 'RESTORE'. Try FUNCTION HELP.");
    }
    FunctionRegistry.Policy policy = FunctionRegistry.Policy.APPEND;
    if (a.length == 4) {
      if (Args.is(a[3], "flush")) {
        policy = FunctionRegistry.Policy.FLUSH;
      } else if (Args.is(a[3], "append")) {
        policy = FunctionRegistry.Policy.APPEND;
      } else if (Args.is(a[3], "replace")) {
        policy = FunctionRegistry.Policy.REPLACE;
      } else {
        throw new CommandException("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
      }
    }
    List<byte[]> codes = FunctionDump.decode(a[2]);
    List<String> names = new ArrayList<>(codes.size());
    for (byte[] code : codes) {
      names.add(FunctionLibrary.parseName(code));
    }
    FunctionRegistry.Policy chosen = policy;
    RespContext context = s.context();
    onLane(s, a[2].length, loader -> {
      // One load time limit for the whole payload, so a payload of many slow libraries cannot hold the lane for long.
      long notAfter = context.clock().nanos() + TimeUnit.MILLISECONDS.toNanos(FunctionLoader.LOAD_TIMEOUT_MILLIS) * 4;
      List<FunctionLibrary> libs = new ArrayList<>(codes.size());
      for (int i = 0; i < codes.size(); i++) {
        libs.add(loader.load(names.get(i), codes.get(i), notAfter));
      }
      return new Change("OK", context.functionRegistry().restore(libs, chosen));
    }, (ok, w) -> w.ok());
  }

  /** A lane job's result for the reply, and the change for the other members (null: none). */
  private record Change(String result, FunctionChanges changes) {}

  /** What a lane job leaves for the reply. */
  private interface LaneJob {
    Change run(FunctionLoader loader);
  }

  private interface LaneReply {
    void write(String result, RespWriter w);
  }

  /**
   * Runs {@code job} on the script lane, where every change of the libraries runs (a client's and
   * the other members', FunctionSync), so they apply one at a time in the order they were queued:
   * a FLUSH queued after a LOAD clears what the LOAD added, never the reverse. Then the change goes
   * to the other members, and the reply waits for their answers (FunctionSync.push). The job's
   * {@code codeBytes} of code count against the bodies that may wait to be compiled (ScriptCompiler)
   * until it has run; the connection's next commands wait for its reply (a pipelined FCALL finds the
   * function a LOAD before it put there).
   */
  private static void onLane(RespSession s, long codeBytes, LaneJob job, LaneReply reply) {
    if (s.capturing()) {
      throw new CommandException("ERR FUNCTION LOAD, DELETE, FLUSH and RESTORE inside MULTI are not supported by"
          + " distcache: send them alone");
    }
    ScriptHost host = s.context().scriptHost();
    FunctionLoader loader = s.context().functionLoader();
    if (host == null || loader == null) {
      throw new CommandException("ERR scripting is not available on this node (no executor behind its Redis protocol)");
    }
    FunctionSync sync = s.context().functionSync();
    Frame anchor = Frame.request(Opcode.SCRIPT, null);
    CompletableFuture<Frame> done = s.context().scriptCompiler().reserve(codeBytes, () -> host.onLane(() -> job.run(loader)))
        .thenCompose(change -> sync == null ? CompletableFuture.completedFuture(change)
            : sync.push(change.changes()).thenApply(v -> change))
        .handle((change, error) -> {
          if (error == null) {
            return anchor.replyValue(change.result().getBytes(StandardCharsets.UTF_8));
          }
          Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
          String text = cause instanceof CommandException || cause instanceof ScriptHost.Refused ? cause.getMessage()
              : "ERR function library change failed inside the node: " + cause;
          return anchor.replyError(Status.BAD_REQUEST, text);
        });
    s.runNextAfter(done);
    s.await(done, (r, w) -> {
      if (r.status() == Status.OK) {
        reply.write(new String(r.value(), StandardCharsets.UTF_8), w);
      } else {
        w.error(r.valueText());
      }
    });
  }

  private static void delete(RespSession s, byte[][] a) {
    String name = new String(a[2], StandardCharsets.UTF_8);
    FunctionRegistry registry = s.context().functionRegistry();
    onLane(s, 0, loader -> new Change("OK", registry.delete(name)), (ok, w) -> w.ok());
  }

  private static void flush(RespSession s, byte[][] a) {
    if (a.length > 3 || a.length == 3 && !Args.is(a[2], "async") && !Args.is(a[2], "sync")) {
      throw new CommandException("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    }
    FunctionRegistry registry = s.context().functionRegistry();
    onLane(s, 0, loader -> {
      FunctionChanges change = registry.flush();
      loader.clear(); // the loaded closures go with them; a forwarded FCALL loads again
      return new Change("OK", change);
    }, (ok, w) -> w.ok());
  }

  private static void list(RespSession s, byte[][] a) {
    byte[] pattern = null;
    boolean withCode = false;
    for (int i = 2; i < a.length; i++) {
      if (Args.is(a[i], "withcode") && !withCode) {
        withCode = true;
      } else if (Args.is(a[i], "libraryname") && pattern == null) {
        if (i + 1 >= a.length) {
          throw new CommandException("ERR library name argument was not given");
        }
        pattern = a[++i];
      } else {
        throw new CommandException("ERR Unknown argument " + new String(a[i], StandardCharsets.UTF_8));
      }
    }
    List<FunctionLibrary> libs = new ArrayList<>();
    for (FunctionLibrary lib : s.context().functionRegistry().all()) {
      if (pattern == null || GlobMatcher.matches(pattern, lib.name().getBytes(StandardCharsets.UTF_8))) {
        libs.add(lib);
      }
    }
    RespWriter w = s.out();
    w.array(libs.size());
    for (FunctionLibrary lib : libs) {
      w.map(withCode ? 4 : 3);
      w.bulk("library_name");
      w.bulk(lib.name());
      w.bulk("engine");
      w.bulk(FunctionLibrary.ENGINE);
      w.bulk("functions");
      w.array(lib.functions().size());
      for (FunctionLibrary.Function f : lib.functions().values()) {
        w.map(3);
        w.bulk("name");
        w.bulk(f.name());
        w.bulk("description");
        if (f.description() == null) {
          w.nil();
        } else {
          w.bulk(f.description());
        }
        w.bulk("flags");
        List<String> flags = f.flagNames();
        w.set(flags.size());
        for (String flag : flags) {
          w.simple(flag); // Redis sends the flags as status strings
        }
      }
      if (withCode) {
        w.bulk("library_code");
        w.bulk(lib.code());
      }
    }
  }

  private static void dump(RespSession s, byte[][] a) {
    s.out().bulk(FunctionDump.encode(s.context().functionRegistry().all()));
  }

  /** This node's running function (a script shows as none, as in Redis) and its libraries. */
  private static void stats(RespSession s, byte[][] a) {
    RespWriter w = s.out();
    ScriptHost host = s.context().scriptHost();
    ScriptCodec.Script running = host == null ? null : host.current();
    w.map(2);
    w.bulk("running_script");
    if (running == null || !running.isFunction()) {
      w.nil();
    } else {
      w.map(3);
      w.bulk("name");
      w.bulk(running.function());
      w.bulk("command");
      w.array(3 + running.keys().size() + running.args().size());
      w.bulk((running.flags() & ScriptCodec.FCALL_RO) != 0 ? "fcall_ro" : "fcall");
      w.bulk(running.function());
      w.bulk(Long.toString(running.keys().size()));
      running.keys().forEach(w::bulk);
      running.args().forEach(w::bulk);
      w.bulk("duration_ms");
      w.integer(host.runningMillis());
    }
    FunctionRegistry registry = s.context().functionRegistry();
    w.bulk("engines");
    w.map(1);
    w.bulk(FunctionLibrary.ENGINE);
    w.map(2);
    w.bulk("libraries_count");
    w.integer(registry.all().size());
    w.bulk("functions_count");
    w.integer(registry.functionCount());
  }

  private static void kill(RespSession s, byte[][] a) {
    ScriptCommands.kill(s, true);
  }

  private static void help(RespSession s, byte[][] a) {
    String[] lines = {
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE"
            + " command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help."};
    ConnectionCommands.helpReply(s, "FUNCTION", List.of(lines));
  }
}
