package io.distcache.server.resp;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.Prototype;
import org.luaj.vm2.compiler.LuaC;

/*
 * Design: the node's scripts by SHA1 (lower-case hex of the body, as Redis names them), each with
 * its body and its compiled Prototype, so EVALSHA compiles nothing and a node that forwards a
 * script sends its body. Bounded twice, by count and by body bytes: a client that sends a million
 * distinct EVALs (a common bug: values pasted into the script) cannot grow the heap, it only
 * pushes out the least recently used scripts; a client whose script was pushed out gets NOSCRIPT
 * on EVALSHA and loads it again, which every client library does on NOSCRIPT. One lock: lookups are
 * a hash probe, and compiling happens outside it.
 *
 * The byte bound counts each script's body and an estimate of its compiled code (Prototypes'
 * instruction, constant and line arrays, nested functions: compiledBytes), since the compiled form
 * can be 15 times the body (a body of many tiny functions: 14 MB of "f=function()end" took 225 MB).
 * A script whose estimate alone is over the bound is refused, not cached; a body is at most
 * maxScriptBytes (4 MiB; Redis has only proto-max-bulk-len), which also bounds what one compile
 * takes while it runs (compiling happens on the caller's thread: ScriptCompiler's for a client's
 * command, the script lane for a SCRIPT request, never an event loop).
 */

/** Compiled scripts by SHA1, least recently used first out. */
final class ScriptCache {
  /** Scripts kept at most. */
  static final int MAX_SCRIPTS = 10_000;
  /** Bytes of script bodies and their compiled code kept at most. */
  static final long MAX_BODY_BYTES = 64L * 1024 * 1024;
  /** The longest script body. */
  static final int MAX_SCRIPT_BYTES = 4 * 1024 * 1024;

  /** A compiled script; {@code heapBytes}: its body and its compiled code's estimated size. */
  record Script(String sha, byte[] body, Prototype prototype, boolean noWrites, long heapBytes) {
    Script(String sha, byte[] body, Prototype prototype, boolean noWrites) {
      this(sha, body, prototype, noWrites, body.length + compiledBytes(prototype));
    }
  }

  private final int maxScripts;
  private final long maxBytes;
  private final int maxScriptBytes;
  private final LinkedHashMap<String, Script> bySha = new LinkedHashMap<>(64, 0.75f, true);
  /** The same scripts by body: a SCRIPT request carries the body, and hashing it beats a SHA1 per run. */
  private final java.util.HashMap<Body, Script> byBody = new java.util.HashMap<>();

  /** A body as a map key, by content. */
  private record Body(byte[] bytes, int hash) {
    Body(byte[] bytes) {
      this(bytes, java.util.Arrays.hashCode(bytes));
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Body b && b.hash == hash && java.util.Arrays.equals(b.bytes, bytes);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }
  private long bytes;

  ScriptCache() {
    this(MAX_SCRIPTS, MAX_BODY_BYTES);
  }

  ScriptCache(int maxScripts, long maxBytes) {
    this(maxScripts, maxBytes, MAX_SCRIPT_BYTES);
  }

  ScriptCache(int maxScripts, long maxBytes, int maxScriptBytes) {
    if (maxScripts < 1 || maxBytes < 1 || maxScriptBytes < 1) {
      throw new IllegalArgumentException("script cache bounds must be positive: " + maxScripts + " scripts, "
          + maxBytes + " bytes, " + maxScriptBytes + " bytes per script");
    }
    this.maxScripts = maxScripts;
    this.maxBytes = maxBytes;
    this.maxScriptBytes = maxScriptBytes;
  }

  /** The cached script, or null (NOSCRIPT). {@code sha} in any case. */
  synchronized Script get(String sha) {
    return bySha.get(sha.toLowerCase(java.util.Locale.ROOT));
  }

  synchronized boolean contains(String sha) {
    return bySha.containsKey(sha.toLowerCase(java.util.Locale.ROOT));
  }

  synchronized int size() {
    return bySha.size();
  }

  /** Bytes the cached scripts count for: bodies and compiled code. */
  synchronized long heldBytes() {
    return bytes;
  }

  /** SCRIPT FLUSH. */
  synchronized void clear() {
    bySha.clear();
    byBody.clear();
    bytes = 0;
  }

  /**
   * The cached script for {@code body}, or null: a lookup by the body's bytes, no SHA1 and no
   * compile (what an event loop may do; ScriptCompiler). Throws CommandException when the body is
   * over the per-script limit.
   */
  Script cached(byte[] body) {
    checkSize(body);
    return known(new Body(body));
  }

  private void checkSize(byte[] body) {
    if (body.length > maxScriptBytes) {
      throw new CommandException("ERR script of " + body.length + " bytes is over the limit of " + maxScriptBytes
          + " bytes per script");
    }
  }

  private synchronized Script known(Body key) {
    Script known = byBody.get(key);
    if (known != null) {
      bySha.get(known.sha()); // counts as a use for the LRU order
    }
    return known;
  }

  /**
   * The script for {@code body}, compiled and cached if it was not; throws CommandException with
   * Redis's "Error compiling script" text when it does not compile. Compiling a large body takes
   * long (about 1 µs a byte): event loops go through ScriptCompiler instead.
   */
  Script load(byte[] body) {
    checkSize(body);
    Body key = new Body(body);
    Script cachedScript = known(key);
    if (cachedScript != null) {
      return cachedScript;
    }
    String sha = sha1Hex(body);
    Script cached = get(sha);
    if (cached != null) {
      return cached;
    }
    Script compiled = compile(sha, body);
    if (compiled.heapBytes() > maxBytes) {
      throw new CommandException("ERR script compiles to about " + compiled.heapBytes() + " bytes of heap with its body,"
          + " over the script cache's limit of " + maxBytes + " bytes");
    }
    synchronized (this) {
      Script raced = bySha.get(sha);
      if (raced != null) {
        return raced;
      }
      bySha.put(sha, compiled);
      byBody.put(key, compiled);
      bytes += compiled.heapBytes();
      Iterator<Map.Entry<String, Script>> oldest = bySha.entrySet().iterator();
      while ((bySha.size() > maxScripts || bytes > maxBytes) && oldest.hasNext()) {
        Map.Entry<String, Script> e = oldest.next();
        if (e.getKey().equals(sha)) {
          continue; // the one just loaded stays
        }
        bytes -= e.getValue().heapBytes();
        byBody.remove(new Body(e.getValue().body()));
        oldest.remove();
      }
    }
    return compiled;
  }

  private static Script compile(String sha, byte[] body) {
    int start = 0;
    boolean noWrites = false;
    if (body.length >= 2 && body[0] == '#' && body[1] == '!') {
      // Redis 7's shebang: "#!lua flags=no-writes,allow-oom"; the line is not Lua.
      int end = 0;
      while (end < body.length && body[end] != '\n') {
        end++;
      }
      String line = new String(body, 0, end, StandardCharsets.UTF_8).trim();
      String[] parts = line.split(" +");
      if (!parts[0].equals("#!lua")) {
        throw new CommandException("ERR Unexpected engine in script shebang: " + parts[0].substring(2));
      }
      for (int i = 1; i < parts.length; i++) {
        if (!parts[i].startsWith("flags=")) {
          throw new CommandException("ERR Unknown lua shebang option: " + parts[i]);
        }
        for (String flag : parts[i].substring(6).split(",")) {
          switch (flag) {
            case "no-writes" -> noWrites = true;
            case "", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys" -> { }
            default -> throw new CommandException("ERR Unexpected flag in script shebang: " + flag);
          }
        }
      }
      start = end; // keep the newline so line numbers stay those of the body
    }
    try {
      Prototype p = LuaC.instance.compile(new ByteArrayInputStream(body, start, body.length - start), "@user_script");
      return new Script(sha, body, p, noWrites);
    } catch (LuaError e) {
      throw new CommandException("ERR Error compiling script (new function): " + LuaEngine.plainMessage(e));
    } catch (IOException e) {
      throw new CommandException("ERR Error compiling script (new function): " + e.getMessage());
    } catch (RuntimeException e) {
      // luaj fails on its way to report some of Lua's limits (201 locals: a NullPointerException
      // naming its compiler's fields); the client gets the limits instead of Java's internals
      throw new CommandException("ERR Error compiling script (new function): the script passes a limit of Lua's"
          + " compiler (200 local variables or 255 upvalues in one function, or too many constants)");
    } catch (StackOverflowError e) {
      throw new CommandException("ERR Error compiling script (new function): the script nests too deeply");
    }
  }

  /**
   * About the heap a compiled script takes: per function an object and its arrays' headers, 4 bytes
   * an instruction and a line number, a reference and a boxed value per constant, the nested
   * functions, local and upvalue descriptions. Walked without recursion (functions nest deeply).
   */
  static long compiledBytes(Prototype root) {
    long total = 0;
    java.util.ArrayDeque<Prototype> todo = new java.util.ArrayDeque<>();
    todo.push(root);
    while (!todo.isEmpty()) {
      Prototype p = todo.pop();
      total += 96 + 6 * 16; // the Prototype and its six arrays' headers
      total += 4L * length(p.code) + 4L * length(p.lineinfo) + 24L * length(p.k) + 48L * length(p.locvars)
          + 40L * length(p.upvalues) + 8L * length(p.p);
      if (p.p != null) {
        for (Prototype child : p.p) {
          if (child != null) {
            todo.push(child);
          }
        }
      }
    }
    return total;
  }

  private static int length(Object[] a) {
    return a == null ? 0 : a.length;
  }

  private static int length(int[] a) {
    return a == null ? 0 : a.length;
  }

  static String sha1Hex(byte[] body) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-1").digest(body);
      StringBuilder sb = new StringBuilder(40);
      for (byte b : d) {
        sb.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
      }
      return sb.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is required of every JVM", e);
    }
  }
}
