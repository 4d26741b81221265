package io.distcache.server.resp;

import static io.distcache.server.resp.Args.is;
import static io.distcache.server.resp.Args.key;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/*
 * Design: like the string commands, each handler checks its arguments in Redis's order with
 * Redis's texts, builds one BITS request (docs/PROTOCOL.md, "Bits") and renders the reply; the
 * arithmetic is store/BitOps, run on the key's owner (cluster/BitRequests). BITOP names several
 * keys: in a cluster with other owners they must share the destination's slot (CROSSSLOT), as in
 * Redis Cluster.
 */

/** SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO. */
final class BitCommands {
  private BitCommands() {}

  // The BITS opcode's commands (extra 0); cluster/BitRequests has the same numbers.
  private static final long GETBIT = 0;
  private static final long SETBIT = 1;
  private static final long BITCOUNT = 2;
  private static final long BITPOS = 3;
  private static final long BITOP = 4;
  private static final long BITFIELD = 5;

  static final String BIT_OFFSET = "ERR bit offset is not an integer or out of range";
  static final String BIT_VALUE = "ERR bit is not an integer or out of range";
  static final String BITFIELD_TYPE =
      "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

  static void register(CommandTable.Registry r) {
    r.add("setbit", 4, "write denyoom", 1, 1, 1, "bitmap", BitCommands::setbit);
    r.add("getbit", 3, "readonly fast", 1, 1, 1, "bitmap", BitCommands::getbit);
    r.add("bitcount", -2, "readonly", 1, 1, 1, "bitmap", BitCommands::bitcount);
    r.add("bitpos", -3, "readonly", 1, 1, 1, "bitmap", BitCommands::bitpos);
    r.add("bitop", -4, "write denyoom", 2, -1, 1, "bitmap", BitCommands::bitop);
    r.add("bitfield", -2, "write denyoom", 1, 1, 1, "bitmap", (s, a) -> bitfield(s, a, false));
    r.add("bitfield_ro", -2, "readonly fast", 1, 1, 1, "bitmap", (s, a) -> bitfield(s, a, true));
  }

  /** A bit offset (or, with {@code hashAllowed}, #N fields of {@code bits}) whose field fits a value. */
  private static long offset(RespSession s, byte[] arg, int bits, boolean hashAllowed) {
    boolean hash = hashAllowed && arg.length > 0 && arg[0] == '#';
    byte[] digits = hash ? java.util.Arrays.copyOfRange(arg, 1, arg.length) : arg;
    long n = Args.parseLong(digits, BIT_OFFSET);
    if (hash) {
      if (n < 0 || n > Long.MAX_VALUE / bits) {
        throw new CommandException(BIT_OFFSET);
      }
      n *= bits;
    }
    long maxBits = s.context().limits().maxBulkBytes() * 8L;
    if (n < 0 || n > maxBits - bits) {
      throw new CommandException(BIT_OFFSET);
    }
    return n;
  }

  private static void setbit(RespSession s, byte[][] a) {
    byte[] key = key(a[1]);
    long offset = offset(s, a[2], 1, false);
    long bit = Args.parseLong(a[3], BIT_VALUE);
    if (bit != 0 && bit != 1) {
      throw new CommandException(BIT_VALUE);
    }
    s.route(Frame.request(Opcode.BITS, 0, key, null, SETBIT, offset, bit), StringCommands::firstExtra);
  }

  private static void getbit(RespSession s, byte[][] a) {
    byte[] key = key(a[1]);
    long offset = offset(s, a[2], 1, false);
    s.route(Frame.request(Opcode.BITS, 0, key, null, GETBIT, offset), StringCommands::firstExtra);
  }

  /** BYTE (false) or BIT (true); a syntax error otherwise. */
  private static boolean unit(byte[] arg) {
    if (is(arg, "bit")) {
      return true;
    }
    if (is(arg, "byte")) {
      return false;
    }
    throw new CommandException(RespErrors.SYNTAX);
  }

  private static void bitcount(RespSession s, byte[][] a) {
    byte[] key = key(a[1]);
    Frame request;
    if (a.length == 2) {
      request = Frame.request(Opcode.BITS, 0, key, null, BITCOUNT, 1, 0, 0, 0);
    } else if (a.length == 4 || a.length == 5) {
      long start = Args.parseLong(a[2]);
      long end = Args.parseLong(a[3]);
      boolean bits = a.length == 5 && unit(a[4]);
      request = Frame.request(Opcode.BITS, 0, key, null, BITCOUNT, 0, start, end, bits ? 1 : 0);
    } else {
      throw new CommandException(RespErrors.SYNTAX);
    }
    s.route(request, StringCommands::firstExtra);
  }

  private static void bitpos(RespSession s, byte[][] a) {
    byte[] key = key(a[1]);
    long bit = Args.parseLong(a[2]);
    if (bit != 0 && bit != 1) {
      throw new CommandException("ERR The bit argument must be 1 or 0.");
    }
    if (a.length > 6) {
      throw new CommandException(RespErrors.SYNTAX);
    }
    boolean hasStart = a.length >= 4;
    long start = hasStart ? Args.parseLong(a[3]) : 0;
    boolean hasEnd = a.length >= 5;
    long end = hasEnd ? Args.parseLong(a[4]) : 0;
    boolean bits = a.length == 6 && unit(a[5]);
    s.route(Frame.request(Opcode.BITS, 0, key, null, BITPOS, bit, hasStart ? 1 : 0, start, hasEnd ? 1 : 0, end,
        bits ? 1 : 0), StringCommands::firstExtra);
  }

  private static void bitop(RespSession s, byte[][] a) {
    long op;
    if (is(a[1], "and")) {
      op = 0;
    } else if (is(a[1], "or")) {
      op = 1;
    } else if (is(a[1], "xor")) {
      op = 2;
    } else if (is(a[1], "not")) {
      op = 3;
    } else {
      throw new CommandException(RespErrors.SYNTAX);
    }
    if (op == 3 && a.length != 4) {
      throw new CommandException("ERR BITOP NOT must be called with a single source key.");
    }
    byte[] dest = key(a[2]);
    List<byte[]> sources = new ArrayList<>(a.length - 3);
    for (int i = 3; i < a.length; i++) {
      sources.add(key(a[i]));
    }
    s.route(Frame.request(Opcode.BITS, 0, dest, ListCodec.encodeKeys(sources), BITOP, op),
        StringCommands::firstExtra);
  }

  private static final int GET = 0;
  private static final int SET = 1;
  private static final int INCRBY = 2;

  private static void bitfield(RespSession s, byte[][] a, boolean readOnly) {
    byte[] key = key(a[1]);
    ByteBuffer ops = ByteBuffer.allocate(24 * ((a.length - 2) / 3 + 1));
    int overflow = 0; // WRAP
    int count = 0;
    boolean writes = false;
    for (int j = 2; j < a.length; j++) {
      int remaining = a.length - j - 1;
      int kind;
      if (is(a[j], "get") && remaining >= 2) {
        kind = GET;
      } else if (is(a[j], "set") && remaining >= 3) {
        kind = SET;
      } else if (is(a[j], "incrby") && remaining >= 3) {
        kind = INCRBY;
      } else if (is(a[j], "overflow") && remaining >= 1) {
        j++;
        if (is(a[j], "wrap")) {
          overflow = 0;
        } else if (is(a[j], "sat")) {
          overflow = 1;
        } else if (is(a[j], "fail")) {
          overflow = 2;
        } else {
          throw new CommandException("ERR Invalid OVERFLOW type specified");
        }
        continue;
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
      byte[] type = a[j + 1];
      boolean signed = type.length > 1 && (type[0] == 'i' || type[0] == 'I');
      boolean unsigned = type.length > 1 && (type[0] == 'u' || type[0] == 'U');
      long bits = -1;
      if (signed || unsigned) {
        try {
          bits = Args.parseLong(java.util.Arrays.copyOfRange(type, 1, type.length));
        } catch (CommandException e) {
          bits = -1;
        }
      }
      if (bits < 1 || (signed && bits > 64) || (unsigned && bits > 63)) {
        throw new CommandException(BITFIELD_TYPE);
      }
      long offset = offset(s, a[j + 2], (int) bits, true);
      long arg = 0;
      if (kind != GET) {
        arg = Args.parseLong(a[j + 3]);
        writes = true;
      }
      ops.putLong(kind | (signed ? 1L : 0L) << 8 | bits << 16 | (long) overflow << 24).putLong(offset).putLong(arg);
      count++;
      j += kind == GET ? 2 : 3;
    }
    if (readOnly && writes) {
      throw new CommandException("ERR BITFIELD_RO only supports the GET subcommand");
    }
    byte[] value = java.util.Arrays.copyOf(ops.array(), ops.position());
    int n = count;
    s.route(Frame.request(Opcode.BITS, 0, key, value, BITFIELD), (r, w) -> {
      if (StringCommands.failed(r, w)) {
        return;
      }
      List<byte[]> results = ListCodec.decodeValues(r.value());
      if (results.size() != n) {
        w.error("ERR internal error: BITFIELD answered " + results.size() + " results for " + n + " operations");
        return;
      }
      w.array(n);
      for (byte[] v : results) {
        if (v == null) {
          w.nil();
        } else {
          w.integer(ByteBuffer.wrap(v).getLong());
        }
      }
    });
  }
}
