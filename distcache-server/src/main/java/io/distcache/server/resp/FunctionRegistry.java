package io.distcache.server.resp;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/*
 * Design: the node's function libraries, by name, and their functions, by name (function names are
 * unique across libraries, as in Redis). Every change is checked whole and then applied at once
 * under the lock: a LOAD REPLACE, a RESTORE of many libraries or a DELETE either happens entirely
 * or leaves the set as it was, so FCALL never sees half of one.
 *
 * Bounded (docs/OPERATIONS.md, "Functions"): at most MAX_LIBRARIES libraries and MAX_CODE_BYTES of
 * library code, fixed limits named in the errors; a library's functions are bounded by the
 * loader (FunctionLibrary.MAX_FUNCTIONS).
 */

/** The node's function libraries (FUNCTION LOAD, DELETE, FLUSH, RESTORE, LIST; FCALL's lookup). */
final class FunctionRegistry {
  /** Libraries a node keeps at most (function-max-libraries in errors). */
  static final int MAX_LIBRARIES = 1_000;
  /** Bytes of library code a node keeps at most (function-max-code-bytes in errors). */
  static final long MAX_CODE_BYTES = 16L * 1024 * 1024;

  /** How RESTORE treats libraries that exist already. */
  enum Policy { APPEND, REPLACE, FLUSH }

  /** Guarded by this; sorted so FUNCTION LIST and DUMP have one order. */
  private final TreeMap<String, FunctionLibrary> libraries = new TreeMap<>();
  private final HashMap<String, FunctionLibrary> byFunction = new HashMap<>();
  private long codeBytes;

  /** The library that registered {@code function}, or null. */
  synchronized FunctionLibrary libraryOf(String function) {
    return byFunction.get(function);
  }

  synchronized boolean contains(String library) {
    return libraries.containsKey(library);
  }

  /** FUNCTION LOAD: adds {@code lib}, replacing the library of its name only when {@code replace}. */
  synchronized void load(FunctionLibrary lib, boolean replace) {
    if (!replace && libraries.containsKey(lib.name())) {
      throw new CommandException("ERR Library '" + lib.name() + "' already exists");
    }
    apply(List.of(lib), Policy.REPLACE);
  }

  /** FUNCTION RESTORE: adds every library of a payload, by {@code policy}; all or nothing. */
  synchronized void restore(List<FunctionLibrary> libs, Policy policy) {
    if (policy == Policy.APPEND) {
      for (FunctionLibrary lib : libs) {
        if (libraries.containsKey(lib.name())) {
          throw new CommandException("ERR Library " + lib.name() + " already exists");
        }
      }
    }
    apply(libs, policy);
  }

  private void apply(List<FunctionLibrary> libs, Policy policy) {
    TreeMap<String, FunctionLibrary> next = policy == Policy.FLUSH ? new TreeMap<>() : new TreeMap<>(libraries);
    for (FunctionLibrary lib : libs) {
      if (libs.stream().filter(l -> l.name().equals(lib.name())).count() > 1) {
        throw new CommandException("ERR Library " + lib.name() + " already exists");
      }
      next.put(lib.name(), lib);
    }
    HashMap<String, FunctionLibrary> functions = new HashMap<>();
    long bytes = 0;
    // The new libraries' functions are checked against the others first, so the error names the clash as Redis does.
    List<FunctionLibrary> order = new ArrayList<>();
    for (FunctionLibrary lib : next.values()) {
      if (!libs.contains(lib)) {
        order.add(lib);
      }
    }
    order.addAll(libs);
    for (FunctionLibrary lib : order) {
      bytes += lib.code().length;
      for (String f : lib.functions().keySet()) {
        if (functions.putIfAbsent(f, lib) != null) {
          throw new CommandException("ERR Function " + f + " already exists");
        }
      }
    }
    if (next.size() > MAX_LIBRARIES) {
      throw new CommandException("ERR the node would keep " + next.size() + " function libraries, more than the limit of "
          + MAX_LIBRARIES + " (function-max-libraries); delete some with FUNCTION DELETE");
    }
    if (bytes > MAX_CODE_BYTES) {
      throw new CommandException("ERR the node would keep " + bytes + " bytes of function library code, more than the"
          + " limit of " + MAX_CODE_BYTES + " (function-max-code-bytes); delete some with FUNCTION DELETE");
    }
    libraries.clear();
    libraries.putAll(next);
    byFunction.clear();
    byFunction.putAll(functions);
    codeBytes = bytes;
  }

  /** FUNCTION DELETE; false when there is no such library. */
  synchronized boolean delete(String library) {
    FunctionLibrary lib = libraries.remove(library);
    if (lib == null) {
      return false;
    }
    lib.functions().keySet().forEach(byFunction::remove);
    codeBytes -= lib.code().length;
    return true;
  }

  /** FUNCTION FLUSH. */
  synchronized void flush() {
    libraries.clear();
    byFunction.clear();
    codeBytes = 0;
  }

  /** The libraries, by name. */
  synchronized List<FunctionLibrary> all() {
    return new ArrayList<>(libraries.values());
  }

  synchronized int functionCount() {
    return byFunction.size();
  }

  synchronized long codeBytes() {
    return codeBytes;
  }

  /** The names in use, for a check before a load (a cheap early "already exists"). */
  synchronized Map<String, FunctionLibrary> snapshot() {
    return new TreeMap<>(libraries);
  }
}
