package io.distcache.server.resp;

import io.distcache.server.resp.FunctionChanges.Entry;
import io.distcache.server.resp.FunctionChanges.Stamp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/*
 * Design: the node's function libraries, by name, and their functions, by name (function names are
 * unique across libraries, as in Redis). Every change is checked whole and then applied at once
 * under the lock: a LOAD REPLACE, a RESTORE of many libraries or a DELETE either happens entirely
 * or leaves the set as it was, so FCALL never sees half of one.
 *
 * Bounded (docs/OPERATIONS.md, "Functions"): at most MAX_LIBRARIES libraries and MAX_CODE_BYTES of
 * library code, fixed limits named in the errors; a library's functions are bounded by the
 * loader (FunctionLibrary.MAX_FUNCTIONS).
 *
 * Cluster (ARCHITECTURE.md, "Functions"): the set is the same on every member, kept so by
 * last-writer-wins on stamps (FunctionChanges.Stamp: a Lamport counter, then the origin's member
 * id). Each library carries the stamp of the change that put it here; a DELETE leaves a deletion
 * (a tombstone) with its stamp, and a FLUSH a flush stamp that removes everything stamped before
 * it. A change made here (load, restore, delete, flush) takes the next stamp and returns the
 * FunctionChanges the other members are sent; merge takes a peer's changes: an entry wins over
 * what is held under its name when its stamp is later (a deletion wins a tie). So two members that
 * have seen the same changes hold the same libraries whatever the order, and a change seen twice
 * changes nothing. A library another member loaded concurrently may register a function name a
 * library here has: the later-stamped library keeps the name, the other is deleted at its own
 * stamp, on every member that sees both. Deletions are remembered up to MAX_TOMBSTONES; the
 * counter of the newest one forgotten is the horizon, and a library this node does not know that
 * is stamped at or below it is not taken from a peer (it may be one of the forgotten deletions: a
 * deleted library never comes back).
 *
 * Every change runs on the script lane (FunctionCommands, FunctionSync), so the node's changes
 * and its peers' are applied one at a time in one order; the lock is for readers (FCALL, LIST).
 */

/** The node's function libraries (FUNCTION LOAD, DELETE, FLUSH, RESTORE, LIST; FCALL's lookup; their sync). */
final class FunctionRegistry {
  /** Libraries a node keeps at most (function-max-libraries in errors). */
  static final int MAX_LIBRARIES = 1_000;
  /** Bytes of library code a node keeps at most (function-max-code-bytes in errors). */
  static final long MAX_CODE_BYTES = 16L * 1024 * 1024;
  /** Deleted library names remembered (so a peer that missed the delete cannot bring one back). */
  static final int MAX_TOMBSTONES = 1_000;

  /** How RESTORE treats libraries that exist already. */
  enum Policy { APPEND, REPLACE, FLUSH }

  /** Guarded by this; sorted so FUNCTION LIST and DUMP have one order. */
  private final TreeMap<String, FunctionLibrary> libraries = new TreeMap<>();
  private final HashMap<String, FunctionLibrary> byFunction = new HashMap<>();
  private long codeBytes;
  /** The stamp of each library (the keys of libraries). Guarded by this. */
  private final HashMap<String, Stamp> stamps = new HashMap<>();
  /** Deleted names and their deletion's stamp, at most MAX_TOMBSTONES. Guarded by this. */
  private final HashMap<String, Stamp> deleted = new HashMap<>();
  private Stamp flushed = Stamp.ZERO;
  /** The Lamport counter: above every counter made or seen here. */
  private long clock;
  /** The counter of the newest deletion forgotten (see above). */
  private long horizon;
  /** This node's member id, the origin of the changes made here ("" before membership starts). */
  private volatile Supplier<String> origin = () -> "";

  /** Names the node the changes made here come from (its member id). */
  void origin(Supplier<String> origin) {
    this.origin = origin;
  }

  /** The library that registered {@code function}, or null. */
  synchronized FunctionLibrary libraryOf(String function) {
    return byFunction.get(function);
  }

  synchronized boolean contains(String library) {
    return libraries.containsKey(library);
  }

  /**
   * FUNCTION LOAD: adds {@code lib}, replacing the library of its name only when {@code replace};
   * the change for the other members, or null when there is none: the same code arrived from
   * another member already (a cluster client sends LOAD to every primary; that is no error).
   */
  synchronized FunctionChanges load(FunctionLibrary lib, boolean replace) {
    if (!replace && libraries.containsKey(lib.name())) {
      if (fromPeer(lib)) {
        return null;
      }
      throw new CommandException("ERR Library '" + lib.name() + "' already exists");
    }
    apply(List.of(lib), Policy.REPLACE);
    return FunctionChanges.of(Stamp.ZERO, List.of(stamped(lib)));
  }

  private boolean fromPeer(FunctionLibrary lib) {
    return fromPeer(lib.name(), lib.code());
  }

  /** True when a library of this name and code is here, put by another member's change. */
  synchronized boolean fromPeer(String name, byte[] code) {
    FunctionLibrary held = libraries.get(name);
    return held != null && Arrays.equals(held.code(), code) && !stamps.get(name).origin().equals(origin.get());
  }

  private Entry stamped(FunctionLibrary lib) {
    Stamp s = next();
    stamps.put(lib.name(), s);
    deleted.remove(lib.name());
    return new Entry(lib.name(), s, false, lib.code());
  }

  private Stamp next() {
    return new Stamp(++clock, origin.get());
  }

  /**
   * FUNCTION RESTORE: adds every library of a payload, by {@code policy}; all or nothing. With
   * APPEND, a library that another member's change put here with the same code is left as it is.
   */
  synchronized FunctionChanges restore(List<FunctionLibrary> libs, Policy policy) {
    List<FunctionLibrary> taken = new ArrayList<>(libs);
    if (policy == Policy.APPEND) {
      for (FunctionLibrary lib : libs) {
        if (libraries.containsKey(lib.name())) {
          if (fromPeer(lib)) {
            taken.remove(lib);
            continue;
          }
          throw new CommandException("ERR Library " + lib.name() + " already exists");
        }
      }
    }
    apply(taken, policy);
    Stamp flush = Stamp.ZERO;
    if (policy == Policy.FLUSH) {
      flush = flushed = next();
      stamps.clear();
      deleted.clear();
    }
    List<Entry> entries = new ArrayList<>();
    for (FunctionLibrary lib : taken) {
      entries.add(stamped(lib));
    }
    return FunctionChanges.of(flush, entries);
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
    checkLimits(next.size(), bytes);
    libraries.clear();
    libraries.putAll(next);
    byFunction.clear();
    byFunction.putAll(functions);
    codeBytes = bytes;
  }

  /**
   * FUNCTION DELETE: the change for the other members; an empty one when the library is gone
   * because another member deleted it (a cluster client sends DELETE to every primary); Redis's
   * "Library not found" when it is not here otherwise.
   */
  synchronized FunctionChanges delete(String library) {
    FunctionLibrary lib = libraries.remove(library);
    if (lib == null) {
      Stamp gone = deleted.get(library);
      if (gone != null && !gone.origin().equals(origin.get())) {
        return FunctionChanges.of(Stamp.ZERO, List.of());
      }
      throw new CommandException("ERR Library not found");
    }
    lib.functions().keySet().forEach(byFunction::remove);
    codeBytes -= lib.code().length;
    stamps.remove(library);
    Stamp s = next();
    deleted.put(library, s);
    forgetOldDeletions();
    return FunctionChanges.of(Stamp.ZERO, List.of(new Entry(library, s, true, null)));
  }

  private static void checkLimits(int count, long bytes) {
    if (count > MAX_LIBRARIES) {
      throw new CommandException("ERR the node would keep " + count + " function libraries, more than the limit of "
          + MAX_LIBRARIES + " (function-max-libraries); delete some with FUNCTION DELETE");
    }
    if (bytes > MAX_CODE_BYTES) {
      throw new CommandException("ERR the node would keep " + bytes + " bytes of function library code, more than the"
          + " limit of " + MAX_CODE_BYTES + " (function-max-code-bytes); delete some with FUNCTION DELETE");
    }
  }

  /** FUNCTION FLUSH: the change for the other members. */
  synchronized FunctionChanges flush() {
    libraries.clear();
    byFunction.clear();
    codeBytes = 0;
    stamps.clear();
    deleted.clear();
    flushed = next();
    return FunctionChanges.of(flushed, List.of());
  }

  // ---- the other members' changes ----

  /** The Lamport counter (a peer's counters are bounded by it, FunctionChanges.decode). */
  synchronized long clock() {
    return clock;
  }

  /** True when {@code in} flushes what this node holds (the loader's instances go too). */
  synchronized boolean flushes(FunctionChanges in) {
    return in.flush().after(flushed);
  }

  /**
   * The library entries of a peer's {@code in} that this node would take, so the caller loads
   * only those (on the lane, with the load limits) before {@link #merge}.
   */
  synchronized List<Entry> wanted(FunctionChanges in) {
    Stamp flush = in.flush().after(flushed) ? in.flush() : flushed;
    List<Entry> out = new ArrayList<>();
    for (Entry e : in.entries()) {
      if (!e.deleted() && takes(e, flush, stamps, deleted)) {
        out.add(e);
      }
    }
    return out;
  }

  /** The library of {@code name} held here when its code is {@code code} (no need to load it again), else null. */
  synchronized FunctionLibrary sameCode(String name, byte[] code) {
    FunctionLibrary held = libraries.get(name);
    return held != null && Arrays.equals(held.code(), code) ? held : null;
  }

  /** Whether entry {@code e} replaces what these maps hold under its name, after the flush {@code flush}. */
  private boolean takes(Entry e, Stamp flush, Map<String, Stamp> libs, Map<String, Stamp> dels) {
    if (e.stamp().compareTo(flush) < 0) {
      return false; // flushed since
    }
    Stamp lib = libs.get(e.name());
    if (lib != null && lib.compareTo(flush) >= 0) {
      return e.replaces(lib, false);
    }
    Stamp del = dels.get(e.name());
    if (del != null && del.compareTo(flush) >= 0) {
      return e.replaces(del, true);
    }
    return e.deleted() || e.stamp().counter() > horizon;
  }

  /**
   * Applies a peer's changes, whole or not at all: {@code loaded} holds, by name, the libraries of
   * the wanted entries that loaded here (an entry whose library did not load is left out, and
   * asked for again by the next pull). CommandException when the result would pass a limit.
   */
  synchronized void merge(FunctionChanges in, Map<String, FunctionLibrary> loaded) {
    Stamp flush = in.flush().after(flushed) ? in.flush() : flushed;
    TreeMap<String, FunctionLibrary> nextLibs = new TreeMap<>();
    HashMap<String, Stamp> nextStamps = new HashMap<>();
    HashMap<String, Stamp> nextDeleted = new HashMap<>();
    libraries.forEach((name, lib) -> {
      if (stamps.get(name).compareTo(flush) >= 0) {
        nextLibs.put(name, lib);
        nextStamps.put(name, stamps.get(name));
      }
    });
    deleted.forEach((name, s) -> {
      if (s.compareTo(flush) >= 0) {
        nextDeleted.put(name, s);
      }
    });
    long highest = flush.counter();
    for (Entry e : in.entries()) {
      highest = Math.max(highest, e.stamp().counter());
      if (!takes(e, flush, nextStamps, nextDeleted)) {
        continue;
      }
      if (e.deleted()) {
        nextLibs.remove(e.name());
        nextStamps.remove(e.name());
        nextDeleted.put(e.name(), e.stamp());
      } else {
        FunctionLibrary lib = loaded.get(e.name());
        if (lib == null || !Arrays.equals(lib.code(), e.code())) {
          continue;
        }
        nextLibs.put(e.name(), lib);
        nextStamps.put(e.name(), e.stamp());
        nextDeleted.remove(e.name());
      }
    }
    // A function name two libraries register: the later-stamped library keeps it on every member.
    List<String> newestFirst = new ArrayList<>(nextLibs.keySet());
    newestFirst.sort((a, b) -> nextStamps.get(b).compareTo(nextStamps.get(a)));
    HashMap<String, FunctionLibrary> functions = new HashMap<>();
    long bytes = 0;
    for (String name : newestFirst) {
      FunctionLibrary lib = nextLibs.get(name);
      if (lib.functions().keySet().stream().anyMatch(functions::containsKey)) {
        nextLibs.remove(name);
        nextDeleted.put(name, nextStamps.remove(name));
        continue;
      }
      lib.functions().keySet().forEach(f -> functions.put(f, lib));
      bytes += lib.code().length;
    }
    checkLimits(nextLibs.size(), bytes);
    clock = Math.max(clock, highest);
    flushed = flush;
    libraries.clear();
    libraries.putAll(nextLibs);
    byFunction.clear();
    byFunction.putAll(functions);
    codeBytes = bytes;
    stamps.clear();
    stamps.putAll(nextStamps);
    deleted.clear();
    deleted.putAll(nextDeleted);
    forgetOldDeletions();
  }

  /** What this node holds, without code: what a pull sends. */
  synchronized FunctionChanges summary() {
    List<Entry> entries = new ArrayList<>();
    stamps.forEach((name, s) -> entries.add(new Entry(name, s, false, null)));
    deleted.forEach((name, s) -> entries.add(new Entry(name, s, true, null)));
    return FunctionChanges.of(flushed, entries);
  }

  /**
   * What a peer whose summary is {@code theirs} lacks, within {@code maxBytes} (code, names and
   * stamps); {@code more} when some did not fit (the peer asks again).
   */
  record Missing(FunctionChanges changes, boolean more) {}

  synchronized Missing missing(FunctionChanges theirs, long maxBytes) {
    HashMap<String, Stamp> theirLibs = new HashMap<>();
    HashMap<String, Stamp> theirDeleted = new HashMap<>();
    for (Entry e : theirs.entries()) {
      (e.deleted() ? theirDeleted : theirLibs).put(e.name(), e.stamp());
    }
    Stamp theirFlush = flushed.after(theirs.flush()) ? flushed : theirs.flush();
    List<Entry> candidates = new ArrayList<>();
    libraries.forEach((name, lib) -> candidates.add(new Entry(name, stamps.get(name), false, lib.code())));
    deleted.forEach((name, s) -> candidates.add(new Entry(name, s, true, null)));
    List<Entry> out = new ArrayList<>();
    long budget = maxBytes - 128;
    boolean more = false;
    for (Entry e : candidates) {
      if (!takesFrom(e, theirFlush, theirLibs, theirDeleted)) {
        continue;
      }
      long size = 128 + (long) e.name().length() * 4 + (e.code() == null ? 0 : e.code().length);
      if (size > budget) {
        more |= size <= maxBytes - 128; // one that never fits an answer is not asked for again and again
        continue;
      }
      budget -= size;
      out.add(e);
    }
    return new Missing(FunctionChanges.of(flushed.after(theirs.flush()) ? flushed : Stamp.ZERO, out), more);
  }

  /** Whether a peer holding these maps would take {@code e} (its horizon is its own business). */
  private static boolean takesFrom(Entry e, Stamp flush, Map<String, Stamp> libs, Map<String, Stamp> dels) {
    if (e.stamp().compareTo(flush) < 0) {
      return false;
    }
    Stamp lib = libs.get(e.name());
    if (lib != null) {
      return e.replaces(lib, false);
    }
    Stamp del = dels.get(e.name());
    return del == null || e.replaces(del, true);
  }

  /** Keeps MAX_TOMBSTONES deletions, forgetting the oldest; the horizon remembers how far. */
  private void forgetOldDeletions() {
    if (deleted.size() <= MAX_TOMBSTONES) {
      return;
    }
    List<Map.Entry<String, Stamp>> oldestFirst = new ArrayList<>(deleted.entrySet());
    oldestFirst.sort(Map.Entry.comparingByValue());
    for (int i = 0; i < oldestFirst.size() - MAX_TOMBSTONES; i++) {
      horizon = Math.max(horizon, oldestFirst.get(i).getValue().counter());
      deleted.remove(oldestFirst.get(i).getKey());
    }
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
