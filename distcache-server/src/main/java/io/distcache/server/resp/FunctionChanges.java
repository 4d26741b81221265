package io.distcache.server.resp;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/*
 * Design: what one member tells another about its function libraries (the FUNCTION_SYNC opcode):
 * a change (a LOAD, DELETE, FLUSH or RESTORE made on the sender), a summary (every library name the
 * sender knows and its stamp, without code: what a pull sends), or the answer to a summary (what
 * the asker lacks). One encoding for all three, so one decoder checks every peer's bytes.
 *
 * Every change is stamped (Stamp): a Lamport counter and the member id of the node where a client
 * made it. Stamps are totally ordered (counter, then origin), so every node that has seen the same
 * changes keeps the same libraries whatever order they arrived in (FunctionRegistry.merge).
 *
 *   byte  0        format version, 1
 *   stamp          the sender's flush stamp: counter u64, origin length u8 (at most 64), origin ASCII
 *   u16            entries E, at most MAX_ENTRIES
 *   E times        stamp, kind u8 (0 a library, 1 deleted), name length u16, name (UTF-8, Redis's
 *                  rule: letters, digits, underscores)
 *   rest           a FUNCTION DUMP payload (FunctionDump) holding the code of the library entries,
 *                  in their order; nothing in a summary
 *
 * A peer's bytes are hostile: every length is checked against what remains before anything is
 * allocated, the code goes through FunctionDump.decode (its checksum, its 1,000-library and 16 MiB
 * limits), each code's metadata line must name its entry, and a counter may not run more than
 * MAX_COUNTER_JUMP ahead of the receiver's clock (a forged counter near 2^63 would end every
 * later change's ordering). Failures are IllegalArgumentException naming the bad value.
 */

/** A stamped set of function library changes, and its codec. */
record FunctionChanges(Stamp flush, List<Entry> entries) {
  static final int VERSION = 1;
  /** Entries one change set may carry: every library and every remembered deletion. */
  static final int MAX_ENTRIES = FunctionRegistry.MAX_LIBRARIES + FunctionRegistry.MAX_TOMBSTONES;
  static final int MAX_ORIGIN_BYTES = 64;
  /** How far ahead of the receiver's clock a peer's counter may be. */
  static final long MAX_COUNTER_JUMP = 1L << 32;

  /** A change's place in the one order every node agrees on. */
  record Stamp(long counter, String origin) implements Comparable<Stamp> {
    static final Stamp ZERO = new Stamp(0, "");

    @Override
    public int compareTo(Stamp o) {
      int c = Long.compare(counter, o.counter);
      return c != 0 ? c : origin.compareTo(o.origin);
    }

    boolean after(Stamp o) {
      return compareTo(o) > 0;
    }
  }

  /** A library (code null in a summary) or, when {@code deleted}, the deletion of one. */
  record Entry(String name, Stamp stamp, boolean deleted, byte[] code) {
    /**
     * Whether this entry replaces {@code current} (the stamp of what a node holds under the name,
     * and whether that is a deletion): a later stamp wins, and at equal stamps a deletion wins, so
     * a library that lost a function name clash (deleted at its own stamp) stays deleted everywhere.
     */
    boolean replaces(Stamp current, boolean currentDeleted) {
      int c = stamp.compareTo(current);
      return c > 0 || c == 0 && deleted && !currentDeleted;
    }
  }

  static FunctionChanges of(Stamp flush, List<Entry> entries) {
    return new FunctionChanges(flush, List.copyOf(entries));
  }

  /** True when this carries nothing: no flush, no entry. */
  boolean isEmpty() {
    return flush.equals(Stamp.ZERO) && entries.isEmpty();
  }

  /** The encoding above; a library entry without code is encoded as in a summary (no DUMP payload). */
  byte[] encode() {
    List<FunctionLibrary> withCode = new ArrayList<>();
    int size = 1 + stampBytes(flush) + 2;
    for (Entry e : entries) {
      size += stampBytes(e.stamp) + 1 + 2 + e.name.getBytes(StandardCharsets.UTF_8).length;
      if (!e.deleted && e.code != null) {
        withCode.add(new FunctionLibrary(e.name, e.code, java.util.Map.of()));
      }
    }
    byte[] dump = withCode.isEmpty() ? new byte[0] : FunctionDump.encode(withCode);
    ByteBuffer out = ByteBuffer.allocate(size + dump.length);
    out.put((byte) VERSION);
    putStamp(out, flush);
    out.putShort((short) entries.size());
    for (Entry e : entries) {
      putStamp(out, e.stamp);
      out.put((byte) (e.deleted ? 1 : 0));
      byte[] name = e.name.getBytes(StandardCharsets.UTF_8);
      out.putShort((short) name.length).put(name);
    }
    out.put(dump);
    return out.array();
  }

  private static int stampBytes(Stamp s) {
    return 8 + 1 + s.origin.length();
  }

  private static void putStamp(ByteBuffer out, Stamp s) {
    out.putLong(s.counter).put((byte) s.origin.length()).put(s.origin.getBytes(StandardCharsets.US_ASCII));
  }

  /**
   * A peer's change set, checked whole; {@code clock} is the receiver's Lamport counter (bounds the
   * counters). With {@code summary} the value must carry no code; otherwise every library entry
   * must come with its code.
   */
  static FunctionChanges decode(byte[] value, long clock, boolean summary) {
    if (value == null || value.length < 1) {
      throw new IllegalArgumentException("empty function change set");
    }
    ByteBuffer in = ByteBuffer.wrap(value);
    int version = in.get() & 0xFF;
    if (version != VERSION) {
      throw new IllegalArgumentException("function change set version " + version + ", expected " + VERSION);
    }
    Stamp flush = stamp(in, clock, "the flush stamp");
    int count = unsignedShort(in, "the entry count");
    if (count > MAX_ENTRIES) {
      throw new IllegalArgumentException("function change set holds " + count + " entries, more than the limit of "
          + MAX_ENTRIES);
    }
    List<Entry> entries = new ArrayList<>(count);
    int libraries = 0;
    for (int i = 0; i < count; i++) {
      String what = "entry " + (i + 1) + " of " + count;
      Stamp stamp = stamp(in, clock, what);
      int kind = unsignedByte(in, what);
      if (kind > 1) {
        throw new IllegalArgumentException(what + " has kind " + kind + ", expected 0 (library) or 1 (deleted)");
      }
      int nameLength = unsignedShort(in, what);
      if (nameLength > in.remaining()) {
        throw new IllegalArgumentException(what + " claims a name of " + nameLength + " bytes, " + in.remaining()
            + " remain");
      }
      byte[] nameBytes = new byte[nameLength];
      in.get(nameBytes);
      String name = new String(nameBytes, StandardCharsets.UTF_8);
      if (!FunctionLibrary.validName(name)) {
        throw new IllegalArgumentException(what + ": bad library name '" + name + "'");
      }
      libraries += kind == 0 ? 1 : 0;
      entries.add(new Entry(name, stamp, kind == 1, null));
    }
    if (summary || !in.hasRemaining()) {
      if (in.hasRemaining()) {
        throw new IllegalArgumentException("a function summary carries " + in.remaining() + " bytes of code");
      }
      if (!summary && libraries > 0) {
        throw new IllegalArgumentException("function change set names " + libraries + " libraries without their code");
      }
      return new FunctionChanges(flush, List.copyOf(entries));
    }
    byte[] dump = new byte[in.remaining()];
    in.get(dump);
    List<byte[]> codes;
    try {
      codes = FunctionDump.decode(dump);
    } catch (CommandException e) {
      throw new IllegalArgumentException("function change set's code: " + e.getMessage().replaceFirst("^ERR ", ""));
    }
    if (codes.size() != libraries) {
      throw new IllegalArgumentException("function change set names " + libraries + " libraries and carries the code of "
          + codes.size());
    }
    List<Entry> withCode = new ArrayList<>(count);
    int next = 0;
    for (Entry e : entries) {
      if (e.deleted) {
        withCode.add(e);
        continue;
      }
      byte[] code = codes.get(next++);
      String named;
      try {
        named = FunctionLibrary.parseName(code);
      } catch (CommandException ex) {
        throw new IllegalArgumentException("library '" + e.name + "': " + ex.getMessage().replaceFirst("^ERR ", ""));
      }
      if (!named.equals(e.name)) {
        throw new IllegalArgumentException("library '" + e.name + "' carries the code of library '" + named + "'");
      }
      withCode.add(new Entry(e.name, e.stamp, false, code));
    }
    return new FunctionChanges(flush, List.copyOf(withCode));
  }

  private static Stamp stamp(ByteBuffer in, long clock, String what) {
    if (in.remaining() < 9) {
      throw new IllegalArgumentException(what + ": the stamp is cut short");
    }
    long counter = in.getLong();
    if (counter < 0 || counter - clock > MAX_COUNTER_JUMP) {
      throw new IllegalArgumentException(what + ": stamp counter " + counter + " is negative or more than "
          + MAX_COUNTER_JUMP + " ahead of this node's " + clock);
    }
    int length = in.get() & 0xFF;
    if (length > MAX_ORIGIN_BYTES || length > in.remaining()) {
      throw new IllegalArgumentException(what + ": origin of " + length + " bytes (at most " + MAX_ORIGIN_BYTES + ", "
          + in.remaining() + " remain)");
    }
    byte[] origin = new byte[length];
    in.get(origin);
    for (byte b : origin) {
      if (b < 0x21 || b > 0x7E) {
        throw new IllegalArgumentException(what + ": origin holds the byte 0x" + Integer.toHexString(b & 0xFF));
      }
    }
    return new Stamp(counter, new String(origin, StandardCharsets.US_ASCII));
  }

  private static int unsignedShort(ByteBuffer in, String what) {
    if (in.remaining() < 2) {
      throw new IllegalArgumentException(what + " is cut short");
    }
    return in.getShort() & 0xFFFF;
  }

  private static int unsignedByte(ByteBuffer in, String what) {
    if (in.remaining() < 1) {
      throw new IllegalArgumentException(what + " is cut short");
    }
    return in.get() & 0xFF;
  }
}
