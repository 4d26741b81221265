package io.distcache.server.resp;

import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.luaj.vm2.Globals;
import org.luaj.vm2.LoadState;
import org.luaj.vm2.LuaClosure;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Prototype;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.compiler.LuaC;
import org.luaj.vm2.lib.BaseLib;
import org.luaj.vm2.lib.Bit32Lib;
import org.luaj.vm2.lib.DebugLib;
import org.luaj.vm2.lib.OneArgFunction;
import org.luaj.vm2.lib.PackageLib;
import org.luaj.vm2.lib.StringLib;
import org.luaj.vm2.lib.TableLib;
import org.luaj.vm2.lib.TwoArgFunction;
import org.luaj.vm2.lib.VarArgFunction;
import org.luaj.vm2.lib.jse.JseMathLib;

/*
 * Design: the Lua side of a node's scripts, one instance per node, used by one script at a time
 * (ScriptHost holds every key of the node while a script runs, so two never run together).
 *
 * Sandbox. The globals get only what Redis gives a script: the base library without dofile,
 * loadfile, load, loadstring, require, print or collectgarbage; string, table, math, bit (LuaBitOp's
 * names over 32-bit signed integers, as Redis's), cjson, cmsgpack and struct (LuaCjson,
 * LuaCmsgpack, LuaStruct) and the redis table. No io, os, package, debug,
 * coroutine (LuaJ's coroutines are Java threads) or luajava: a script cannot reach files, the
 * process, the JVM or another script's code. As in Redis 7, globals are read-only: reading a
 * global that does not exist and assigning any global fail ("Script attempted to access
 * nonexistent global variable", "Attempt to modify a readonly table"), the libraries are read-only
 * proxies, the string metatable is hidden, and rawset refuses all of them: nothing a script does
 * outlives it, so scripts cannot see each other. (An earlier version put the globals back after
 * each run instead; walking them took half of the script thread's time in a profile.)
 *
 * Stopping. LuaJ calls its debug library on every instruction when one is installed; ours (the
 * debug table itself is never given to scripts) counts instructions and, every 1,024, asks whether
 * SCRIPT KILL was sent. Once killed, every later check throws again, so a pcall inside the script
 * cannot swallow the kill.
 *
 * Bounds (docs/OPERATIONS.md, "Script limits"). A script may not take the node down: its memory
 * is bounded by ScriptMemory (checked every 1,024 instructions, before each concatenation of more
 * than 64 KiB, before string.rep, table.concat and string.gsub build their result, and after each
 * redis.call), its recursion by MAX_CALL_DEPTH nested Lua calls (the script thread's stack is
 * sized so that depth always fits), and functions that would return a huge number of values
 * (unpack, string.byte) by Lua 5.1's own limit (7,997 as Redis measures it), with Redis's texts.
 *
 * Errors follow Redis's texts: a Lua error becomes "ERR user_script:LINE: message script: SHA, on
 * @user_script:LINE.", an error table raised by redis.call (or by error({err=...})) its err text
 * followed by the same "script: ..." suffix.
 *
 * Function libraries (Redis 7) run in the same engine under the same hook: a library's chunk gets
 * an environment of its own (functionEnv) that shows only the load-time API (register_function,
 * log, the version fields) while it loads, and the script globals without KEYS and ARGV once its
 * functions are called with (keys, args); errors then name "user_function" and the function.
 */

/** A sandboxed LuaJ runtime with Redis's script API. */
final class LuaEngine {
  /** How the redis table reaches the node: redis.call, redis.pcall and redis.log. */
  interface Bridge {
    /** redis.call (raises a Lua error for an error reply) or redis.pcall (returns it as a table). */
    LuaValue call(Varargs args, boolean raise);

    void log(int level, String message);

    /** redis.setresp: the protocol the replies of later calls are converted from. */
    void setResp(int version);

    /** True once the script was asked to stop. */
    boolean killRequested();

    /** The error a stopped script fails with (a library load that ran out of time words it its own way). */
    default String stopMessage() {
      return KILLED;
    }
  }

  /** A function a library registered while it loaded (redis.register_function). */
  record Registered(String name, LuaValue callback, String description, int flags) {}

  static final String KILLED = "ERR Script killed by user with SCRIPT KILL...";
  /** Lua calls nested at most; one more fails with "stack overflow" (Lua 5.1 allows 20,000; LuaJ needs Java stack). */
  static final int MAX_CALL_DEPTH = 1000;
  /** Values unpack and string.byte return at most: Lua 5.1's 8,000-slot stack as Redis's calls leave it (measured). */
  static final int MAX_RESULTS = 7997;
  /** Concatenations up to this size are left to the periodic memory check. */
  private static final int SMALL_CONCAT = ScriptMemory.SMALL_BYTES;
  private static final int CHECK_EVERY = 1024;
  private static final LuaString ERR = LuaValue.valueOf("err");
  private static final LuaString OK = LuaValue.valueOf("ok");

  private final Globals globals = new Globals();
  /** Tables a script may not change, not even with rawset: the globals, the libraries, metatables. */
  private final java.util.Set<LuaValue> protectedTables =
      java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
  private final int maxStringBytes;
  private Bridge bridge;
  private ScriptMemory memory;
  private final KillHook hook = new KillHook();
  /** tostring, tonumber, error, assert, pcall and xpcall as Lua 5.1 has them. */
  private final LuaBase base = new LuaBase(new LuaBase.Host() {
    @Override
    public int lineAt(int level) {
      return hook.lineAt(level);
    }

    @Override
    public String chunk() {
      return chunk;
    }

    @Override
    public void enterJava() {
      hook.enterJava();
    }

    @Override
    public void exitJava() {
      hook.exitJava();
    }
  });
  /** The globals behind the read-only proxy (what a function sees when it runs). */
  private LuaTable backing;
  /**
   * The environment of function libraries (FunctionLoader): while a library loads, only
   * {@link #loadGlobals} (redis.register_function, redis.log and the version fields, as Redis
   * gives at load time); once loaded, its functions see the script globals, without KEYS and ARGV.
   */
  private LuaTable functionEnv;
  private LuaTable loadGlobals;
  private boolean loading;
  /** The library loading now collects its functions here; null otherwise. */
  private java.util.List<Registered> registering;
  /** The chunk name errors carry: user_script for EVAL, user_function for a library. */
  private String chunk = "user_script";

  LuaEngine(int maxStringBytes) {
    this.maxStringBytes = maxStringBytes;
    LuaNumbers.init();
    globals.load(new BaseLib());
    globals.load(new PackageLib()); // the libraries register in package.loaded; removed below
    globals.load(new TableLib());
    globals.load(new StringLib());
    globals.load(new JseMathLib());
    globals.load(new Bit32Lib());
    globals.load(hook);
    LoadState.install(globals);
    LuaC.install(globals);
    for (String name : new String[] {"dofile", "loadfile", "load", "loadstring", "require", "print", "collectgarbage",
        "debug", "bit32", "package", "module"}) {
      globals.rawset(name, LuaValue.NIL);
    }
    LuaTable string = globals.get("string").checktable();
    LuaValue rep = string.get("rep");
    string.rawset("dump", LuaValue.NIL);
    string.rawset("rep", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        long n = Math.max(0, a.checklong(2));
        long each = a.checkstring(1).length() + (a.isnoneornil(3) ? 0 : a.checkstring(3).length());
        if (each == 0 || n == 0) {
          return LuaValue.EMPTYSTRING; // LuaJ would loop n times for nothing, unkillably
        }
        // each >= 1, so n over the limit is over it in bytes too (and each * n cannot overflow)
        long total = n > maxStringBytes ? Long.MAX_VALUE : each * n;
        if (total > maxStringBytes) {
          throw new LibraryError("string.rep result of " + (total == Long.MAX_VALUE ? "more than " + maxStringBytes : total)
              + " bytes exceeds the node's value limit of " + maxStringBytes + " bytes");
        }
        memory().single(total, "string.rep result");
        return rep.invoke(a);
      }
    });
    string.rawset("byte", boundedByte(string.get("byte")));
    string.rawset("gsub", boundedGsub(string.get("gsub")));
    string.rawset("format", new LuaStringFormat(new LuaStringFormat.Host() {
      @Override
      public LuaError error(String text) {
        return base.libraryError(1, text);
      }

      @Override
      public void reserve(long bytes, String what) {
        memory().single(bytes, what);
      }
    }));
    // Lua 5.1 reads a number passed for a string as its "%.14g" text (LuaJ: Java's float text)
    numbersAsText(string, "byte", 1);
    numbersAsText(string, "find", 1, 2);
    numbersAsText(string, "gmatch", 1, 2);
    numbersAsText(string, "gsub", 1, 2, 3);
    numbersAsText(string, "len", 1);
    numbersAsText(string, "lower", 1);
    numbersAsText(string, "match", 1, 2);
    numbersAsText(string, "rep", 1);
    numbersAsText(string, "reverse", 1);
    numbersAsText(string, "sub", 1);
    numbersAsText(string, "upper", 1);
    LuaTable table = globals.get("table").checktable();
    table.rawset("concat", new TableConcat());
    // Lua 5.1's name, which Redis scripts use; table.unpack is Lua 5.2's and Redis has none
    globals.rawset("unpack", boundedUnpack(table.get("unpack")));
    table.rawset("unpack", LuaValue.NIL);
    base.install(globals);
    globals.rawset("_VERSION", "Lua 5.1");
    table.rawset("getn", new OneArgFunction() {
      @Override
      public LuaValue call(LuaValue t) {
        return LuaValue.valueOf(t.checktable().length());
      }
    });
    lua51Compat(table, globals.get("math").checktable(), string);
    globals.rawset("bit", bitLibrary());
    globals.rawset("redis", redisLibrary());
    globals.rawset("cjson", new LuaCjson(this).library());
    globals.rawset("cmsgpack", new LuaCmsgpack(this).library());
    globals.rawset("struct", LuaStruct.library());
    for (String lib : new String[] {"string", "table", "math", "bit", "redis", "cjson", "cmsgpack", "struct"}) {
      globals.rawset(lib, readOnly(globals.get(lib).checktable()));
    }
    LuaTable stringMeta = new LuaTable();
    stringMeta.rawset(LuaValue.INDEX, globals.get("string"));
    stringMeta.rawset(LuaValue.METATABLE, LuaValue.FALSE);
    LuaString.s_metatable = stringMeta;
    protectedTables.add(stringMeta);
    LuaValue rawset = globals.get("rawset");
    globals.rawset("rawset", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        if (protectedTables.contains(a.arg1())) {
          throw new LuaError("Attempt to modify a readonly table");
        }
        return rawset.invoke(a);
      }
    });
    // Every global moves to a backing table the globals reach through __index: the globals table
    // itself holds only KEYS and ARGV, so an assignment to any name (new or a library's) meets
    // __newindex and fails, and nothing a script does outlives it.
    LuaTable backing = new LuaTable();
    for (LuaValue k = globals.next(LuaValue.NIL).arg1(); !k.isnil(); k = globals.next(k).arg1()) {
      backing.rawset(k, globals.rawget(k));
    }
    for (LuaValue k = backing.next(LuaValue.NIL).arg1(); !k.isnil(); k = backing.next(k).arg1()) {
      globals.rawset(k, LuaValue.NIL);
    }
    backing.rawset("_G", globals);
    LuaTable missing = new LuaTable();
    missing.rawset(LuaValue.INDEX, new TwoArgFunction() {
      @Override
      public LuaValue call(LuaValue t, LuaValue k) {
        throw new LuaError("Script attempted to access nonexistent global variable '" + k.tojstring() + "'");
      }
    });
    missing.rawset(LuaValue.METATABLE, LuaValue.FALSE);
    backing.setmetatable(missing);
    LuaTable meta = new LuaTable();
    meta.rawset(LuaValue.INDEX, backing);
    meta.rawset(LuaValue.NEWINDEX, new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        throw new LuaError("Attempt to modify a readonly table");
      }
    });
    meta.rawset(LuaValue.METATABLE, LuaValue.FALSE);
    globals.setmetatable(meta);
    protectedTables.add(globals);
    protectedTables.add(backing);
    this.backing = backing;
    buildFunctionEnv(missing);
  }

  private void buildFunctionEnv(LuaTable missing) {
    LuaTable loadRedis = new LuaTable();
    loadRedis.rawset("register_function", new FunctionRegistrar());
    LuaValue redis = backing.get("redis");
    for (String name : new String[] {"log", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION",
        "REDIS_VERSION_NUM"}) {
      loadRedis.rawset(name, redis.get(name));
    }
    loadRedis.setmetatable(missing);
    loadGlobals = new LuaTable();
    loadGlobals.rawset("redis", readOnly(loadRedis));
    loadGlobals.setmetatable(missing);
    protectedTables.add(loadGlobals);
    // A Globals, not a plain table: LuaJ calls the debug hook (the instruction count, the kill and
    // memory checks, the depth limit) only for closures whose environment is a Globals with one.
    Globals env = new Globals();
    env.debuglib = hook;
    functionEnv = env;
    LuaTable meta = new LuaTable();
    meta.rawset(LuaValue.INDEX, new TwoArgFunction() {
      @Override
      public LuaValue call(LuaValue t, LuaValue k) {
        return (loading ? loadGlobals : backing).get(k);
      }
    });
    meta.rawset(LuaValue.NEWINDEX, new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        throw new LuaError("Attempt to modify a readonly table");
      }
    });
    meta.rawset(LuaValue.METATABLE, LuaValue.FALSE);
    functionEnv.setmetatable(meta);
    protectedTables.add(functionEnv);
  }

  /**
   * Runs a function library's top-level code {@code p} (compiled as "@user_function") with only the
   * load-time API, under {@code bridge}'s stop check and {@code memory}'s budget; returns the
   * functions it registered, in order. Throws LuaError like {@link #run}.
   */
  java.util.List<Registered> load(Prototype p, Bridge bridge, ScriptMemory memory) {
    java.util.List<Registered> out = new java.util.ArrayList<>();
    registering = out;
    loading = true;
    try {
      execute(() -> new LuaClosure(p, functionEnv).call(), bridge, memory, "user_function");
      return out;
    } finally {
      loading = false;
      registering = null;
    }
  }

  /** Calls a loaded library's function with its keys and arguments (FCALL); its first return value. */
  LuaValue call(LuaValue callback, LuaTable keys, LuaTable args, Bridge bridge, ScriptMemory memory) {
    return execute(() -> callback.call(keys, args), bridge, memory, "user_function");
  }

  /**
   * Runs {@code p} with KEYS and ARGV; returns the script's first return value (NIL for none).
   * Throws LuaError for a script error or a kill, StackOverflowError for runaway recursion.
   */
  LuaValue run(Prototype p, LuaTable keys, LuaTable argv, Bridge bridge, ScriptMemory memory) {
    globals.rawset("KEYS", keys);
    globals.rawset("ARGV", argv);
    return execute(() -> new LuaClosure(p, globals).call(), bridge, memory, "user_script");
  }

  private LuaValue execute(java.util.function.Supplier<LuaValue> body, Bridge bridge, ScriptMemory memory,
      String chunkName) {
    this.bridge = bridge;
    this.memory = memory;
    this.chunk = chunkName;
    hook.reset();
    hook.killing = false;
    try {
      return body.get();
    } catch (LibraryError e) {
      if (FILELINE.matcher(withoutTraceback(e)).matches()) {
        throw e;
      }
      LuaError positioned = new LuaError(chunkName + ":" + hook.currentLine() + ": " + e.getMessage());
      positioned.initCause(e);
      throw positioned;
    } finally {
      this.bridge = null;
      this.memory = null;
      this.chunk = "user_script";
      hook.reset();
    }
  }

  /**
   * An error raised by a library function (cjson, cmsgpack, struct, the bounds). Redis words
   * these "user_script:LINE: message" even when the function was tail-called, where LuaJ has left
   * the script's frame and adds no position: run() adds the line the script was at.
   */
  static final class LibraryError extends LuaError {
    LibraryError(String message) {
      super(message);
    }
  }

  /**
   * An error whose value is exactly what Lua 5.1 raises (error(), assert, the libraries' errors,
   * already positioned), with the line the script was at when it was raised: the line an uncaught
   * error's reply names ("on" the chunk and line), as Redis's error handler finds it.
   */
  static final class ScriptError extends LuaError {
    final LuaValue value;
    final String chunk;
    final int line;

    ScriptError(LuaValue value, String chunk, int line) {
      super(value);
      this.value = value;
      this.chunk = chunk;
      this.line = line;
    }
  }

  /** The Lua value an error carries, as Lua 5.1 would hand it to pcall: a table, or the positioned message. */
  static LuaValue errorValue(LuaError e) {
    if (e instanceof ScriptError se) {
      return se.value;
    }
    LuaValue obj = e.getMessageObject();
    if (obj != null && !obj.isstring()) {
      return obj;
    }
    return e.getMessage() == null ? LuaValue.NIL : LuaValue.valueOf(plainMessage(e));
  }

  /** The running script's memory budget (a library function called outside a run gets a tiny one). */
  private ScriptMemory memory() {
    ScriptMemory m = memory;
    if (m == null) {
      throw new LuaError("the script libraries are only available while a script runs");
    }
    return m;
  }

  /** Checks the running script's memory with {@code pending} bytes about to be allocated. */
  void checkMemory(long pending) {
    ScriptMemory m = memory;
    if (m != null) {
      m.check(pending);
    }
  }

  /** unpack / table.unpack: Lua 5.1 refuses more than its stack holds; LuaJ would allocate them all. */
  private static VarArgFunction boundedUnpack(LuaValue unpack) {
    return new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        LuaTable t = a.checktable(1);
        long i = a.optlong(2, 1);
        long j = a.isnoneornil(3) ? t.length() : a.checklong(3);
        if (j - i + 1 > MAX_RESULTS) {
          throw new LibraryError("too many results to unpack");
        }
        return unpack.invoke(a);
      }
    };
  }

  /** string.byte: Redis's "stack overflow (string slice too long)" past 7,997 values. */
  private static VarArgFunction boundedByte(LuaValue stringByte) {
    return new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        long len = a.checkstring(1).length();
        long i = position(a.optlong(2, 1), len);
        long j = position(a.isnoneornil(3) ? i : a.checklong(3), len);
        if (j - Math.max(i, 1) + 1 > MAX_RESULTS) {
          throw new LibraryError("stack overflow (string slice too long)");
        }
        return stringByte.invoke(a);
      }
    };
  }

  /** Lua's string position: negative counts from the end. */
  private static long position(long p, long len) {
    return p >= 0 ? Math.min(p, len) : Math.max(0, len + p + 1);
  }

  /** Lua 5.1's functions that LuaJ (a Lua 5.2) lacks and Redis has: deprecated, but scripts may call them. */
  private void lua51Compat(LuaTable table, LuaTable math, LuaTable string) {
    math.rawset("mod", math.get("fmod"));
    math.rawset("log10", new OneArgFunction() {
      @Override
      public LuaValue call(LuaValue x) {
        return LuaValue.valueOf(Math.log10(x.checkdouble()));
      }
    });
    string.rawset("gfind", string.get("gmatch"));
    table.rawset("maxn", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        LuaTable t = checkTable(a, 1, "maxn");
        double max = 0;
        for (Varargs n = t.next(LuaValue.NIL); !n.arg1().isnil(); n = t.next(n.arg1())) {
          if (n.arg1().type() == LuaValue.TNUMBER) {
            max = Math.max(max, n.arg1().todouble());
          }
        }
        return LuaValue.valueOf(max);
      }
    });
    table.rawset("foreach", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        LuaTable t = checkTable(a, 1, "foreach");
        LuaValue f = checkFunction(a, 2, "foreach");
        for (Varargs n = t.next(LuaValue.NIL); !n.arg1().isnil(); n = t.next(n.arg1())) {
          LuaValue r = f.call(n.arg1(), n.arg(2));
          if (!r.isnil()) {
            return r;
          }
        }
        return LuaValue.NONE;
      }
    });
    table.rawset("foreachi", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        LuaTable t = checkTable(a, 1, "foreachi");
        LuaValue f = checkFunction(a, 2, "foreachi");
        int n = t.length();
        for (int i = 1; i <= n; i++) {
          LuaValue r = f.call(LuaValue.valueOf(i), t.rawget(i));
          if (!r.isnil()) {
            return r;
          }
        }
        return LuaValue.NONE;
      }
    });
    table.rawset("setn", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        checkTable(a, 1, "setn");
        throw base.libraryError(1, "'setn' is obsolete");
      }
    });
  }

  private LuaTable checkTable(Varargs a, int arg, String fn) {
    return (LuaTable) checkArg(a, arg, fn, "table", a.arg(arg).istable());
  }

  private LuaValue checkFunction(Varargs a, int arg, String fn) {
    return checkArg(a, arg, fn, "function", a.arg(arg).isfunction());
  }

  /** Argument {@code arg} of {@code fn}, or Lua 5.1's "bad argument" error when it is not the {@code expected} type. */
  private LuaValue checkArg(Varargs a, int arg, String fn, String expected, boolean ok) {
    if (!ok) {
      throw base.libraryError(1, "bad argument #" + arg + " to '" + fn + "' (" + expected + " expected, got "
          + typeName(a, arg) + ")");
    }
    return a.arg(arg);
  }

  /** Lua 5.1's luaL_typename of an argument: "no value" past the last one. */
  private static String typeName(Varargs a, int arg) {
    return arg > a.narg() ? "no value" : a.arg(arg).typename();
  }

  /** Wraps string.NAME so that numbers at {@code positions} reach it as their Lua 5.1 text. */
  private static void numbersAsText(LuaTable string, String name, int... positions) {
    LuaValue f = string.get(name);
    string.rawset(name, new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        LuaValue[] args = null;
        for (int p : positions) {
          if (a.arg(p).type() == LuaValue.TNUMBER) {
            if (args == null) {
              args = new LuaValue[a.narg()];
              for (int k = 0; k < args.length; k++) {
                args[k] = a.arg(k + 1);
              }
            }
            args[p - 1] = LuaNumbers.asString(args[p - 1]);
          }
        }
        return f.invoke(args == null ? a : LuaValue.varargsOf(args));
      }
    });
  }

  /*
   * table.concat as Lua 5.1's (numbers as their "%.14g" text, Redis's error text for a value that
   * is neither), built here rather than by LuaJ: the result's size is known before it is built, and
   * refused past the memory limit.
   */
  private final class TableConcat extends VarArgFunction {
    @Override
    public Varargs invoke(Varargs a) {
      LuaValue sepValue = a.arg(2);
      if (!a.isnoneornil(2) && !sepValue.isstring()) {
        throw base.libraryError(1, "bad argument #2 to 'concat' (string expected, got " + sepValue.typename() + ")");
      }
      if (!a.arg1().istable()) {
        throw base.libraryError(1, "bad argument #1 to 'concat' (table expected, got " + typeName(a, 1) + ")");
      }
      LuaTable t = (LuaTable) a.arg1();
      byte[] sep = a.isnoneornil(2) ? new byte[0] : bytes(LuaNumbers.asString(sepValue).checkstring());
      long i = a.isnoneornil(3) ? 1 : a.checklong(3);
      long j = a.isnoneornil(4) ? t.length() : a.checklong(4);
      if (i > j) {
        return LuaValue.EMPTYSTRING;
      }
      long total = 0;
      for (long k = i; k <= j; k++) {
        total += field(t, k).m_length + (k < j ? sep.length : 0);
        if (total > SMALL_CONCAT) {
          memory().single(total, "table.concat result");
        }
      }
      byte[] out = new byte[(int) total];
      int at = 0;
      for (long k = i; k <= j; k++) {
        LuaString v = field(t, k);
        v.copyInto(0, out, at, v.m_length);
        at += v.m_length;
        if (k < j) {
          System.arraycopy(sep, 0, out, at, sep.length);
          at += sep.length;
        }
      }
      return LuaValue.valueOf(out);
    }

    private LuaString field(LuaTable t, long k) {
      LuaValue v = t.rawget(LuaValue.valueOf((double) k));
      if (!v.isstring()) {
        throw base.libraryError(1, "invalid value (" + v.typename() + ") at index " + k + " in table for 'concat'");
      }
      return LuaNumbers.asString(v).checkstring();
    }
  }

  /*
   * string.gsub builds its result in Java, where no instruction runs. A function or table
   * replacement is wrapped in a function that checks the memory before each match (the result's
   * growth is this thread's allocation); a string replacement's result is bounded beforehand by
   * its number of matches (counted with an empty replacement, whose result is no larger than the
   * subject) times what one match can produce.
   */
  private VarArgFunction boundedGsub(LuaValue gsub) {
    return new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        LuaString subject = a.checkstring(1);
        LuaValue repl = a.arg(3);
        int len = subject.m_length;
        if (repl.isfunction() || repl.istable()) {
          LuaValue target = repl;
          LuaValue checked = new VarArgFunction() {
            @Override
            public Varargs invoke(Varargs captures) {
              memory().check(0);
              LuaValue r = target.isfunction() ? target.invoke(captures).arg1() : target.get(captures.arg1());
              return LuaNumbers.asString(r);
            }
          };
          return gsub.invoke(LuaValue.varargsOf(new LuaValue[] {a.arg1(), a.arg(2), checked}, a.subargs(4)));
        }
        if (repl.isstring()) {
          LuaString r = repl.checkstring();
          long percents = 0;
          for (int k = 0; k < r.m_length; k++) {
            if (r.luaByte(k) == '%') {
              percents++;
            }
          }
          long perMatch = r.m_length + percents * len;
          long matches = Math.min(a.isnoneornil(4) ? len + 1L : Math.max(0, a.checklong(4)), len + 1L);
          if (len + matches * perMatch > SMALL_CONCAT) {
            matches = gsub.invoke(LuaValue.varargsOf(new LuaValue[] {a.arg1(), a.arg(2), LuaValue.EMPTYSTRING},
                a.subargs(4))).arg(2).tolong();
            memory().single(len + matches * perMatch, "string.gsub result");
          }
        }
        return gsub.invoke(a);
      }
    };
  }

  private static final Pattern FILELINE = Pattern.compile("^@?(user_(?:script|function):[0-9?]+):? (.*)$",
      Pattern.DOTALL);

  /** LuaJ's "@user_script:3 message" as Lua 5.1 words it: "user_script:3: message". */
  static String plainMessage(LuaError e) {
    if (e instanceof ScriptError se) {
      return LuaNumbers.display(se.value);
    }
    String m = withoutTraceback(e);
    Matcher matcher = FILELINE.matcher(m);
    return matcher.matches() ? matcher.group(1) + ": " + matcher.group(2) : m;
  }

  /** "user_script:3" of a LuaJ error, or "user_script:?" when it names none. */
  static String fileline(LuaError e) {
    if (e instanceof ScriptError se) {
      return se.chunk + ":" + (se.line > 0 ? String.valueOf(se.line) : "?");
    }
    LuaValue obj = e.getMessageObject();
    if (obj != null && obj.istable() && obj.get(LINE).isnumber()) {
      return obj.get(SOURCE).optjstring("user_script") + ":" + obj.get(LINE).toint();
    }
    Matcher matcher = FILELINE.matcher(withoutTraceback(e));
    return matcher.matches() ? matcher.group(1) : "user_script:?";
  }

  /** LuaJ adds a stack traceback to the message while its debug library is installed (ours is). */
  private static String withoutTraceback(LuaError e) {
    String m = String.valueOf(e.getMessage());
    int cut = m.indexOf("\nstack traceback:");
    return cut < 0 ? m : m.substring(0, cut);
  }

  private static final LuaString SOURCE = LuaValue.valueOf("source");
  private static final LuaString LINE = LuaValue.valueOf("line");
  /**
   * Raises {@code err} (an error table) from a library function, with the script's current line in
   * its source and line fields, as Redis 7's redis.call does.
   */
  LuaError raise(LuaTable err) {
    int line = hook.currentLine();
    if (line > 0) {
      err.rawset(SOURCE, LuaValue.valueOf(chunk));
      err.rawset(LINE, LuaValue.valueOf(line));
    }
    return new LuaError(err);
  }

  /** Redis's reply text for a script that failed with {@code e}. */
  static String errorReply(LuaError e, String sha) {
    String suffix = " script: " + sha + ", on @" + fileline(e) + ".";
    LuaValue value = errorValue(e);
    if (value.istable()) {
      LuaValue err = value.get(ERR);
      String text = err.isstring() ? LuaNumbers.display(err) : "ERR unknown error";
      return oneLine(text) + suffix;
    }
    String message = LuaNumbers.display(value);
    if (message.contains(KILLED)) {
      return KILLED + suffix;
    }
    return oneLine("ERR " + message) + suffix;
  }

  /** Error and status texts cannot hold CR or LF in RESP: Redis turns them into spaces. */
  static String oneLine(String s) {
    return s.indexOf('\r') < 0 && s.indexOf('\n') < 0 ? s : s.replace('\r', ' ').replace('\n', ' ');
  }

  /** An error of the redis library, worded and placed as Redis's ("ERR text script: ..., on @user_script:N."). */
  private LuaError libError(String text) {
    return raise(errorTable("ERR " + text));
  }

  /**
   * redis.error_reply's text as Redis 7 words it: "-CODE message" or "CODE message" keep their
   * code, a text without a space gets "ERR" ("x" becomes "ERR x"); CR and LF around the message go.
   */
  static String errorCode(String text) {
    String s = text.startsWith("-") ? text : "-" + text;
    int space = s.indexOf(' ');
    String code = space < 0 ? "ERR" : s.substring(1, space);
    String message = space < 0 ? s.substring(1) : s.substring(space + 1);
    int from = 0;
    int to = message.length();
    while (from < to && (message.charAt(from) == '\r' || message.charAt(from) == '\n')) {
      from++;
    }
    while (to > from && (message.charAt(to - 1) == '\r' || message.charAt(to - 1) == '\n')) {
      to--;
    }
    return code + " " + message.substring(from, to);
  }

  /** An error table, {err = text}: what redis.call raises and redis.pcall returns. */
  static LuaTable errorTable(String text) {
    LuaTable t = new LuaTable();
    t.rawset(ERR, LuaValue.valueOf(text));
    return t;
  }

  private LuaTable readOnly(LuaTable lib) {
    LuaTable proxy = new LuaTable();
    protectedTables.add(proxy);
    LuaTable meta = new LuaTable();
    meta.rawset(LuaValue.INDEX, lib);
    meta.rawset(LuaValue.NEWINDEX, new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        throw new LuaError("Attempt to modify a readonly table");
      }
    });
    meta.rawset(LuaValue.METATABLE, LuaValue.FALSE);
    proxy.setmetatable(meta);
    protectedTables.add(lib);
    return proxy;
  }

  private LuaTable redisLibrary() {
    LuaTable redis = new LuaTable();
    redis.rawset("call", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        return current().call(a, true);
      }
    });
    redis.rawset("pcall", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        return current().call(a, false);
      }
    });
    redis.rawset("error_reply", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        if (a.narg() != 1 || a.arg1().type() != LuaValue.TSTRING) {
          return errorTable("ERR wrong number or type of arguments"); // returned, not raised, as Redis does
        }
        return errorTable(errorCode(a.arg1().tojstring()));
      }
    });
    redis.rawset("status_reply", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        LuaValue msg = a.arg1();
        if (a.narg() != 1 || msg.type() != LuaValue.TSTRING) {
          return errorTable("ERR wrong number or type of arguments");
        }
        LuaTable t = new LuaTable();
        t.rawset(OK, msg.checkstring());
        return t;
      }
    });
    redis.rawset("sha1hex", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        if (a.narg() != 1) {
          throw libError("wrong number of arguments");
        }
        LuaValue v = a.arg1();
        // lua_tolstring: a number is its text; anything else hashes as the empty string in Redis
        byte[] data = v.isstring() ? bytes(LuaNumbers.asString(v).checkstring()) : new byte[0];
        return LuaValue.valueOf(ScriptCache.sha1Hex(data));
      }
    });
    redis.rawset("log", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        if (a.narg() < 2) {
          throw libError("redis.log() requires two arguments or more.");
        }
        if (!a.arg1().isnumber()) {
          throw libError("First argument must be a number (log level).");
        }
        int level = a.arg1().toint();
        if (level < 0 || level > 3) {
          throw libError("Invalid debug level.");
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 2; i <= a.narg(); i++) {
          if (i > 2) {
            sb.append(' ');
          }
          sb.append(LuaNumbers.display(a.arg(i)));
        }
        current().log(level, sb.toString());
        return LuaValue.NONE;
      }
    });
    redis.rawset("setresp", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        if (a.narg() != 1) {
          throw libError("redis.setresp() requires one argument.");
        }
        int v = a.checkint(1);
        if (v != 2 && v != 3) {
          throw libError("RESP version must be 2 or 3.");
        }
        current().setResp(v);
        return LuaValue.NONE;
      }
    });
    redis.rawset("set_repl", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        if (a.narg() != 1) {
          throw libError("redis.set_repl() requires one argument.");
        }
        int flags = a.checkint(1);
        if ((flags & ~3) != 0) {
          throw libError("Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
        }
        return LuaValue.NONE; // effects are always replicated whole (docs/PROTOCOL.md, "Scripting")
      }
    });
    redis.rawset("replicate_commands", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        return LuaValue.TRUE;
      }
    });
    redis.rawset("LOG_DEBUG", 0);
    redis.rawset("LOG_VERBOSE", 1);
    redis.rawset("LOG_NOTICE", 2);
    redis.rawset("LOG_WARNING", 3);
    redis.rawset("REPL_NONE", 0);
    redis.rawset("REPL_AOF", 1);
    redis.rawset("REPL_SLAVE", 2);
    redis.rawset("REPL_REPLICA", 2);
    redis.rawset("REPL_ALL", 3);
    redis.rawset("REDIS_VERSION", RespContext.REDIS_VERSION);
    String[] v = RespContext.REDIS_VERSION.split("\\.");
    redis.rawset("REDIS_VERSION_NUM", Integer.parseInt(v[0]) << 16 | Integer.parseInt(v[1]) << 8 | Integer.parseInt(v[2]));
    return redis;
  }

  /** LuaBitOp (Redis's bit library): 32-bit signed results, unlike Lua 5.2's bit32. */
  private static LuaTable bitLibrary() {
    LuaTable bit = new LuaTable();
    bit.rawset("tobit", fold(0, (x, y) -> x));
    bit.rawset("bnot", new OneArgFunction() {
      @Override
      public LuaValue call(LuaValue x) {
        return LuaValue.valueOf(~toBit(x));
      }
    });
    bit.rawset("band", fold(-1, (x, y) -> x & y));
    bit.rawset("bor", fold(0, (x, y) -> x | y));
    bit.rawset("bxor", fold(0, (x, y) -> x ^ y));
    bit.rawset("lshift", shift((x, n) -> x << n));
    bit.rawset("rshift", shift((x, n) -> x >>> n));
    bit.rawset("arshift", shift((x, n) -> x >> n));
    bit.rawset("rol", shift(Integer::rotateLeft));
    bit.rawset("ror", shift(Integer::rotateRight));
    bit.rawset("bswap", new OneArgFunction() {
      @Override
      public LuaValue call(LuaValue x) {
        return LuaValue.valueOf(Integer.reverseBytes(toBit(x)));
      }
    });
    bit.rawset("tohex", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        int x = toBit(a.arg1());
        int n = a.isnoneornil(2) ? 8 : a.checkint(2);
        boolean upper = n < 0;
        n = Math.min(8, Math.abs(n));
        String hex = String.format("%08x", x);
        hex = hex.substring(8 - n);
        return LuaValue.valueOf(upper ? hex.toUpperCase(java.util.Locale.ROOT) : hex);
      }
    });
    return bit;
  }

  private interface IntOp {
    int apply(int x, int y);
  }

  private static VarArgFunction fold(int start, IntOp op) {
    return new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        int acc = toBit(a.arg1());
        for (int i = 2; i <= a.narg(); i++) {
          acc = op.apply(acc, toBit(a.arg(i)));
        }
        return LuaValue.valueOf(acc);
      }
    };
  }

  private static TwoArgFunction shift(IntOp op) {
    return new TwoArgFunction() {
      @Override
      public LuaValue call(LuaValue x, LuaValue n) {
        return LuaValue.valueOf(op.apply(toBit(x), toBit(n) & 31));
      }
    };
  }

  /** LuaBitOp's normalisation: the number modulo 2^32, as a signed 32-bit integer. */
  private static int toBit(LuaValue v) {
    double d = v.checkdouble();
    return (int) (long) Math.floor(d % 4294967296.0);
  }

  private Bridge current() {
    Bridge b = bridge;
    if (b == null) {
      throw new LuaError("the redis library is only available while a script runs");
    }
    return b;
  }

  static byte[] bytes(LuaString s) {
    byte[] out = new byte[s.m_length];
    s.copyInto(0, out, 0, s.m_length);
    return out;
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Function flags, in the order Redis lists them (FUNCTION LIST), as bits of {@link Registered#flags}. */
  static final java.util.List<String> FUNCTION_FLAGS =
      java.util.List.of("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys");

  /** A register_function error, as Redis raises it: an error table with no position. */
  private static LuaError registerError(String text) {
    return new LuaError(errorTable("ERR " + text));
  }

  /** redis.register_function, in its positional (name, callback) and its named-table form. */
  private final class FunctionRegistrar extends VarArgFunction {
    @Override
    public Varargs invoke(Varargs a) {
      java.util.List<Registered> into = registering;
      if (into == null) {
        throw registerError("redis.register_function can only be called on FUNCTION LOAD command");
      }
      Registered r;
      if (a.narg() == 1) {
        if (!a.arg1().istable()) {
          throw registerError("calling redis.register_function with a single argument is only applicable to Lua"
              + " table (representing named arguments).");
        }
        r = named((LuaTable) a.arg1());
      } else if (a.narg() == 2) {
        if (!a.arg1().isstring()) {
          throw registerError("first argument to redis.register_function must be a string");
        }
        if (!a.arg(2).isfunction()) {
          throw registerError("second argument to redis.register_function must be a function");
        }
        r = new Registered(a.arg1().tojstring(), a.arg(2), null, 0);
      } else {
        throw registerError("wrong number of arguments to redis.register_function");
      }
      if (!FunctionLibrary.validName(r.name())) {
        throw registerError(FunctionLibrary.BAD_NAME);
      }
      for (Registered known : into) {
        if (known.name().equals(r.name())) {
          throw registerError("Function already exists in the library");
        }
      }
      if (into.size() >= FunctionLibrary.MAX_FUNCTIONS) {
        throw registerError("a library may register at most " + FunctionLibrary.MAX_FUNCTIONS + " functions");
      }
      into.add(r);
      return LuaValue.NONE;
    }

    private Registered named(LuaTable t) {
      String name = null;
      LuaValue callback = null;
      String description = null;
      int flags = 0;
      for (LuaValue k = t.next(LuaValue.NIL).arg1(); !k.isnil(); k = t.next(k).arg1()) {
        LuaValue v = t.rawget(k);
        if (k.type() != LuaValue.TSTRING) {
          throw registerError("named argument key given to redis.register_function is not a string");
        }
        switch (k.tojstring()) {
          case "function_name" -> {
            if (!v.isstring()) {
              throw registerError("function_name argument given to redis.register_function must be a string");
            }
            name = v.tojstring();
          }
          case "description" -> {
            if (!v.isstring()) {
              throw registerError("description argument given to redis.register_function must be a string");
            }
            description = v.tojstring();
          }
          case "callback" -> {
            if (!v.isfunction()) {
              throw registerError("callback argument given to redis.register_function must be a function");
            }
            callback = v;
          }
          case "flags" -> {
            if (!v.istable()) {
              throw registerError("flags argument to redis.register_function must be a table representing function"
                  + " flags");
            }
            flags = flags((LuaTable) v);
          }
          default -> throw registerError("unknown argument given to redis.register_function");
        }
      }
      if (name == null) {
        throw registerError("redis.register_function must get a function name argument");
      }
      if (callback == null) {
        throw registerError("redis.register_function must get a callback argument");
      }
      return new Registered(name, callback, description, flags);
    }

    private int flags(LuaTable t) {
      int flags = 0;
      int n = t.length();
      for (int i = 1; i <= n; i++) {
        LuaValue v = t.rawget(i);
        int bit = v.type() == LuaValue.TSTRING ? FUNCTION_FLAGS.indexOf(v.tojstring()) : -1;
        if (bit < 0) {
          throw registerError("unknown flag given");
        }
        flags |= 1 << bit;
      }
      return flags;
    }
  }

  /*
   * Counts instructions and stops a killed script; never given to scripts as the debug table.
   * Replaces LuaJ's own call-stack bookkeeping with the little Redis's errors need: the prototype
   * and instruction of each Lua frame, for the current line (LuaClosure reports every frame's
   * entry and exit, its own errors carry their line anyway).
   */
  private final class KillHook extends DebugLib {
    private int count;
    /** Set once a kill was thrown: from then on every instruction throws it, pcall or not. */
    private boolean killing;
    private Prototype[] frames = new Prototype[64];
    private LuaValue[][] stacks = new LuaValue[64][];
    private int[] pcs = new int[64];
    private int depth;

    @Override
    public void onCall(org.luaj.vm2.LuaFunction f) {
      // Java functions: no line of their own
    }

    @Override
    public void onCall(LuaClosure c, Varargs varargs, LuaValue[] stack) {
      push(c.p, stack);
    }

    /** A frame: a Lua function's, or (p null) a Java function's that calls Lua code (pcall). */
    private void push(Prototype p, LuaValue[] stack) {
      // Thrown before the frame is entered: LuaJ calls onReturn only for frames it entered.
      if (depth >= MAX_CALL_DEPTH) {
        throw new LibraryError("stack overflow (Lua calls nested more than " + MAX_CALL_DEPTH + " deep)");
      }
      if (depth == frames.length) {
        frames = java.util.Arrays.copyOf(frames, depth * 2);
        stacks = java.util.Arrays.copyOf(stacks, depth * 2);
        pcs = java.util.Arrays.copyOf(pcs, depth * 2);
      }
      stacks[depth] = stack;
      frames[depth] = p;
      pcs[depth] = 0;
      depth++;
      returned = false;
    }

    @Override
    public void onReturn() {
      if (depth > 0) {
        // "return redis.call(...)" is a tail call: LuaJ leaves the frame before calling, so the
        // call's line is the one the frame left from.
        lastLine = line(depth - 1);
        returned = true;
        stacks[depth - 1] = null;
        frames[--depth] = null;
      }
    }

    void enterJava() {
      push(null, null);
    }

    void exitJava() {
      if (depth > 0 && frames[depth - 1] == null) {
        depth--;
        pcs[depth] = 0;
      }
    }

    private int lastLine;
    /**
     * True from a Lua frame's return until the next instruction or call: a function called now
     * was tail-called from that frame (LuaJ leaves the frame first; Lua 5.1 keeps it for a C
     * function), so the frame's line is lastLine.
     */
    private boolean returned;

    /** The line the innermost Lua frame is at (or last left, for a tail call), or 0. */
    int currentLine() {
      return lineAt(1);
    }

    /**
     * The line of the function at Lua's error {@code level} (1: the innermost), as luaL_where
     * finds it; 0 when that is a Java function or there is none.
     */
    int lineAt(int level) {
      if (level == 1 && (returned || depth == 0)) {
        return lastLine;
      }
      int frame = depth - level + (returned ? 1 : 0);
      return frame >= 0 && frame < depth ? line(frame) : 0;
    }

    private int line(int frame) {
      Prototype p = frames[frame];
      if (p == null) {
        return 0;
      }
      int pc = pcs[frame];
      return p.lineinfo != null && pc >= 0 && pc < p.lineinfo.length ? p.lineinfo[pc] : 0;
    }

    void reset() {
      java.util.Arrays.fill(frames, 0, depth, null);
      java.util.Arrays.fill(stacks, 0, depth, null);
      depth = 0;
      lastLine = 0;
      returned = false;
    }

    @Override
    public void onInstruction(int pc, Varargs v, int top) {
      returned = false;
      if (depth > 0) {
        pcs[depth - 1] = pc;
        int i = frames[depth - 1].code[pc];
        if ((i & 0x3f) == org.luaj.vm2.Lua.OP_CONCAT) {
          concat(stacks[depth - 1], org.luaj.vm2.Lua.GETARG_B(i), org.luaj.vm2.Lua.GETARG_C(i));
        }
      }
      if (++count % CHECK_EVERY == 0 || killing || (memory != null && memory.exceeded())) {
        Bridge b = bridge;
        killing = b != null && b.killRequested();
        if (killing) {
          throw new LuaError(b.stopMessage());
        }
        checkMemory(0);
      }
    }

    /**
     * R(b) .. ... .. R(c): its size is known before LuaJ builds it. When every operand is a
     * string or a number, the numbers are replaced by their Lua 5.1 text first (LuaJ would write
     * Java's float text); the registers are the instruction's temporaries, dead once it has run.
     * With any other operand a __concat metamethod may see the values, which are left as they are.
     */
    private void concat(LuaValue[] stack, int b, int c) {
      boolean plain = true;
      for (int r = b; r <= c && r < stack.length; r++) {
        LuaValue v = stack[r];
        plain &= v != null && (v.type() == LuaValue.TSTRING || v.type() == LuaValue.TNUMBER);
      }
      long total = 0;
      for (int r = b; r <= c && r < stack.length; r++) {
        LuaValue v = stack[r];
        if (plain && v instanceof org.luaj.vm2.LuaDouble) {
          stack[r] = v = LuaNumbers.asString(v);
        }
        if (v != null && v.type() == LuaValue.TSTRING) {
          total += ((LuaString) v).m_length;
        } else {
          total += 24; // a number's digits; anything else fails or calls __concat, checked there
        }
      }
      if (total > SMALL_CONCAT) {
        ScriptMemory m = memory;
        if (m != null) {
          m.single(total, "string concatenation");
        }
      }
    }
  }
}
