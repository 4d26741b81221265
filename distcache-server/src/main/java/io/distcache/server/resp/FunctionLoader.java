package io.distcache.server.resp;

import io.distcache.server.net.ClientLog;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Prototype;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.compiler.LuaC;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: runs function libraries' top-level code in the node's Lua engine, on the script lane
 * (ScriptHost.onLane), and keeps what it registered. Loading is where a hostile library strikes
 * (an endless loop, a memory bomb, runaway recursion at load), so it runs under the limits a
 * script has: the script memory budget (ScriptMemory), the call depth (LuaEngine), and, as in
 * Redis, a load time limit of LOAD_TIMEOUT_MILLIS, past which the load fails with Redis's "FUNCTION
 * LOAD timeout". Only redis.register_function and redis.log (and the version fields) exist at
 * load time, as in Redis: nothing a library's top-level code does can touch the keyspace.
 *
 * The functions it registers are closures of this engine, so the instances are kept here, by the
 * library's code: FUNCTION LOAD's own load fills the cache, and an FCALL forwarded from another
 * node (which carries the code, see ScriptCodec) loads the library here the first time. The cache
 * is bounded (MAX_INSTANCES, MAX_INSTANCE_BYTES of code), least recently used out: a library
 * pushed out is loaded again by the next FCALL of one of its functions.
 */

/** Loads function libraries into the node's Lua engine and keeps their functions by code. */
final class FunctionLoader {
  private static final Logger log = LoggerFactory.getLogger(FunctionLoader.class);
  /** Redis's limit on a library's top-level code (its LOAD_TIMEOUT_MS). */
  static final long LOAD_TIMEOUT_MILLIS = 500;
  static final int MAX_INSTANCES = FunctionRegistry.MAX_LIBRARIES + 64;
  static final long MAX_INSTANCE_BYTES = 2 * FunctionRegistry.MAX_CODE_BYTES;

  private final LuaEngine engine;
  private final RespContext context;
  /** Loaded libraries by code; access order. Guarded by this. */
  private final LinkedHashMap<ByteBuffer, Map<String, LuaEngine.Registered>> instances =
      new LinkedHashMap<>(64, 0.75f, true);
  private long instanceBytes;

  FunctionLoader(LuaEngine engine, RespContext context) {
    this.engine = engine;
    this.context = context;
  }

  /**
   * Loads {@code code} (its metadata already checked by the caller) with a deadline of
   * LOAD_TIMEOUT_MILLIS from now and no later than {@code notAfterNanos}; the library, or
   * CommandException with Redis's text ("Error compiling function", "Error registering functions",
   * "No functions registered").
   */
  synchronized FunctionLibrary load(String name, byte[] code, long notAfterNanos) {
    Map<String, LuaEngine.Registered> functions = loadNow(code, notAfterNanos);
    keep(code, functions);
    Map<String, FunctionLibrary.Function> described = new LinkedHashMap<>();
    for (LuaEngine.Registered r : functions.values()) {
      described.put(r.name(), new FunctionLibrary.Function(r.name(), r.description(), r.flags()));
    }
    return new FunctionLibrary(name, code, java.util.Collections.unmodifiableMap(described));
  }

  /** The functions of the library {@code code}, loading it now when it is not kept (an FCALL on the lane). */
  synchronized Map<String, LuaEngine.Registered> instance(byte[] code) {
    Map<String, LuaEngine.Registered> known = instances.get(ByteBuffer.wrap(code));
    if (known != null) {
      return known;
    }
    FunctionLibrary.parseName(code);
    Map<String, LuaEngine.Registered> functions = loadNow(code, Long.MAX_VALUE);
    keep(code, functions);
    return functions;
  }

  private Map<String, LuaEngine.Registered> loadNow(byte[] code, long notAfterNanos) {
    Prototype p;
    try {
      // The metadata line stays: Lua skips a first line that starts with '#', and line numbers stay the code's.
      p = LuaC.instance.compile(new ByteArrayInputStream(code), "@user_function");
    } catch (LuaError e) {
      throw new CommandException("ERR Error compiling function: " + LuaEngine.plainMessage(e));
    } catch (IOException | RuntimeException e) {
      throw new CommandException("ERR Error compiling function: " + e.getMessage());
    } catch (StackOverflowError e) {
      throw new CommandException("ERR Error compiling function: the library nests too deeply");
    }
    long now = context.clock().nanos();
    long deadline = now + TimeUnit.MILLISECONDS.toNanos(LOAD_TIMEOUT_MILLIS);
    if (notAfterNanos - deadline < 0) {
      deadline = notAfterNanos;
    }
    LoadBridge bridge = new LoadBridge(deadline);
    java.util.List<LuaEngine.Registered> registered;
    try {
      registered = engine.load(p, bridge, new ScriptMemory(context.scriptMemoryBytes(), context.heapBudgets()));
    } catch (LuaError e) {
      throw new CommandException("ERR Error registering functions: " + loadError(e));
    } catch (StackOverflowError e) {
      throw new CommandException("ERR Error registering functions: ERR reached lua stack limit");
    } catch (OutOfMemoryError e) {
      throw new CommandException("ERR Error registering functions: ERR the library ran out of memory while loading");
    }
    if (registered.isEmpty()) {
      throw new CommandException("ERR No functions registered");
    }
    Map<String, LuaEngine.Registered> out = new LinkedHashMap<>();
    for (LuaEngine.Registered r : registered) {
      out.put(r.name(), r);
    }
    return java.util.Collections.unmodifiableMap(out);
  }

  /** Redis's wording of a load error: the error table's text, or "ERR " and the positioned message. */
  private static String loadError(LuaError e) {
    LuaValue obj = e.getMessageObject();
    if (obj != null && obj.istable() && obj.get("err").isstring()) {
      return LuaEngine.oneLine(obj.get("err").tojstring());
    }
    String message = LuaEngine.plainMessage(e);
    if (message.contains(LoadBridge.TIMEOUT)) {
      return "ERR " + LoadBridge.TIMEOUT + " (a library's top-level code may run " + LOAD_TIMEOUT_MILLIS + " ms)";
    }
    return LuaEngine.oneLine("ERR " + message);
  }

  private void keep(byte[] code, Map<String, LuaEngine.Registered> functions) {
    if (instances.put(ByteBuffer.wrap(code), functions) == null) {
      instanceBytes += code.length;
    }
    Iterator<Map.Entry<ByteBuffer, Map<String, LuaEngine.Registered>>> oldest = instances.entrySet().iterator();
    while ((instances.size() > MAX_INSTANCES || instanceBytes > MAX_INSTANCE_BYTES) && oldest.hasNext()) {
      Map.Entry<ByteBuffer, Map<String, LuaEngine.Registered>> e = oldest.next();
      if (e.getValue() == functions) {
        continue;
      }
      instanceBytes -= e.getKey().capacity();
      oldest.remove();
    }
  }

  /** Drops every kept library (FUNCTION FLUSH: their closures become garbage). */
  synchronized void clear() {
    instances.clear();
    instanceBytes = 0;
  }

  /** A load's view of the node: no commands, a deadline instead of SCRIPT KILL. */
  private final class LoadBridge implements LuaEngine.Bridge {
    static final String TIMEOUT = "FUNCTION LOAD timeout";
    private final long deadline;

    LoadBridge(long deadline) {
      this.deadline = deadline;
    }

    @Override
    public LuaValue call(Varargs args, boolean raise) {
      throw new LuaError("redis.call is not available while a library loads");
    }

    @Override
    public void log(int level, String message) {
      switch (level) {
        case 3 -> ClientLog.warn(log, "function-load-log-warning", "function library load: {}", message);
        case 2 -> ClientLog.info(log, "function-load-log-notice", "function library load: {}", message);
        default -> log.debug("function library load: {}", message);
      }
    }

    @Override
    public void setResp(int version) {
      throw new LuaError("redis.setresp is not available while a library loads");
    }

    @Override
    public boolean killRequested() {
      return context.clock().nanos() - deadline > 0;
    }

    @Override
    public String stopMessage() {
      return TIMEOUT;
    }
  }
}
