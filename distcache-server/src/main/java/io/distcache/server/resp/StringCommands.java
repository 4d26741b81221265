package io.distcache.server.resp;

import static io.distcache.server.resp.Args.is;
import static io.distcache.server.resp.Args.key;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/*
 * Design: each handler only parses, builds one binary request, and renders the response (as Olric
 * does per operation); serve-or-forward is the Router's business. Argument errors are raised before
 * anything is sent, in the order Redis checks them.
 */

/** String commands: GET, SET and friends, counters, ranges, MGET/MSET. */
final class StringCommands {
  private StringCommands() {}

  static void register(CommandTable.Registry r) {
    r.add("get", 2, "readonly fast", 1, 1, 1, "string", StringCommands::get);
    r.add("set", -3, "write denyoom", 1, 1, 1, "string", StringCommands::set);
    r.add("setnx", 3, "write denyoom fast", 1, 1, 1, "string", StringCommands::setnx);
    r.add("setex", 4, "write denyoom", 1, 1, 1, "string", (s, a) -> setex(s, a, true, "setex"));
    r.add("psetex", 4, "write denyoom", 1, 1, 1, "string", (s, a) -> setex(s, a, false, "psetex"));
    r.add("getset", 3, "write denyoom fast", 1, 1, 1, "string", StringCommands::getset);
    r.add("getdel", 2, "write fast", 1, 1, 1, "string", StringCommands::getdel);
    r.add("getex", -2, "write fast", 1, 1, 1, "string", StringCommands::getex);
    r.add("mget", -2, "readonly fast", 1, -1, 1, "string", StringCommands::mget);
    r.add("mset", -3, "write denyoom", 1, -1, 2, "string", StringCommands::mset);
    r.add("msetnx", -3, "write denyoom", 1, -1, 2, "string", StringCommands::msetnx);
    r.add("append", 3, "write denyoom fast", 1, 1, 1, "string", StringCommands::append);
    r.add("strlen", 2, "readonly fast", 1, 1, 1, "string", StringCommands::strlen);
    r.add("getrange", 4, "readonly", 1, 1, 1, "string", StringCommands::getrange);
    r.add("setrange", 4, "write denyoom", 1, 1, 1, "string", StringCommands::setrange);
    r.add("incr", 2, "write denyoom fast", 1, 1, 1, "string", (s, a) -> incrBy(s, a[1], 1));
    r.add("decr", 2, "write denyoom fast", 1, 1, 1, "string", (s, a) -> incrBy(s, a[1], -1));
    r.add("incrby", 3, "write denyoom fast", 1, 1, 1, "string", (s, a) -> incrBy(s, a[1], Args.parseLong(a[2])));
    r.add("decrby", 3, "write denyoom fast", 1, 1, 1, "string", StringCommands::decrby);
    r.add("incrbyfloat", 3, "write denyoom fast", 1, 1, 1, "string", StringCommands::incrbyfloat);
  }

  /** Writes the error for an error status and returns true; false for a normal answer. */
  static boolean failed(Frame r, RespWriter w) {
    return failed(r, w, false);
  }

  static boolean failed(Frame r, RespWriter w, boolean floatCommand) {
    if (r.status().isError()) {
      w.error(RespErrors.fromStatus(r, floatCommand));
      return true;
    }
    return false;
  }

  private static void get(RespSession s, byte[][] a) {
    s.routeValue(Frame.request(Opcode.GET, key(a[1])), StringCommands::valueOrNull);
  }

  /**
   * Routes a typed-value request (SETS, ZSETS, ...): extra 0 the command, then {@code more}; the
   * value a ListCodec value list of {@code args}.
   */
  static void sendTyped(RespSession s, Opcode op, byte[] key, long command, List<byte[]> args,
      RespSession.Reply reply, long... more) {
    long[] extras = new long[1 + more.length];
    extras[0] = command;
    System.arraycopy(more, 0, extras, 1, more.length);
    s.route(Frame.request(op, 0, key(key), ListCodec.encodeValues(args), extras), reply);
  }

  static void valueOrNull(Frame r, RespWriter w) {
    if (!failed(r, w)) {
      if (r.status() == Status.OK) {
        w.bulk(r.value());
      } else {
        w.nil();
      }
    }
  }

  private static void set(RespSession s, byte[][] a) {
    byte[] key = key(a[1]);
    int flags = 0;
    int expiryAt = -1;
    for (int i = 3; i < a.length; i++) {
      byte[] opt = a[i];
      boolean hasNext = i + 1 < a.length;
      if (is(opt, "nx") && !Flags.has(flags, Flags.IF_PRESENT)) {
        flags |= Flags.IF_ABSENT;
      } else if (is(opt, "xx") && !Flags.has(flags, Flags.IF_ABSENT)) {
        flags |= Flags.IF_PRESENT;
      } else if (is(opt, "get")) {
        flags |= Flags.RETURN_PREVIOUS;
      } else if (is(opt, "keepttl") && expiryAt < 0) {
        flags |= Flags.KEEP_TTL;
      } else if (hasNext && expiryAt < 0 && !Flags.has(flags, Flags.KEEP_TTL) && isExpiryOption(opt)) {
        expiryAt = i++;
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    // Like Redis, the amount is read only once every option is known to be well-formed.
    Expiry expiry = expiryAt < 0 ? Expiry.NONE : expiryOption(s, a, expiryAt, "set");
    Frame request = Frame.request(Opcode.SET, flags | expiry.flags(), key, a[2], expiry.ttl());
    if (Flags.has(flags, Flags.RETURN_PREVIOUS)) {
      s.routeLending(request, 2, StringCommands::previousOrNull);
      return;
    }
    s.routeWithValue(request, 2, (r, w) -> {
      if (failed(r, w)) {
        return;
      }
      if (r.status() == Status.OK) {
        w.ok();
      } else {
        w.nil();
      }
    });
  }

  private static boolean isExpiryOption(byte[] opt) {
    return is(opt, "ex") || is(opt, "px") || is(opt, "exat") || is(opt, "pxat");
  }

  /** Converts "EX 10" (the option at {@code at}, its amount after it). */
  private static Expiry expiryOption(RespSession s, byte[][] a, int at, String command) {
    byte[] opt = a[at];
    boolean seconds = is(opt, "ex") || is(opt, "exat");
    boolean absolute = is(opt, "exat") || is(opt, "pxat");
    return Expiry.strict(Args.parseLong(a[at + 1]), seconds, absolute, s.context().clock().millis(), command);
  }

  private static void setnx(RespSession s, byte[][] a) {
    s.routeWithValue(Frame.request(Opcode.SET, Flags.IF_ABSENT, key(a[1]), a[2], 0L), 2, StringCommands::oneIfOk);
  }

  /** 1 for OK, 0 for a negative answer (the Redis integer-reply convention). */
  static void oneIfOk(Frame r, RespWriter w) {
    if (!failed(r, w)) {
      w.integer(r.status() == Status.OK ? 1 : 0);
    }
  }

  /** The first extra as an integer reply. */
  static void firstExtra(Frame r, RespWriter w) {
    if (!failed(r, w)) {
      w.integer(r.extra(0, 0));
    }
  }

  private static void setex(RespSession s, byte[][] a, boolean seconds, String command) {
    byte[] key = key(a[1]);
    Expiry e = Expiry.strict(Args.parseLong(a[2]), seconds, false, s.context().clock().millis(), command);
    s.routeWithValue(Frame.request(Opcode.SET, e.flags(), key, a[3], e.ttl()), 3, (r, w) -> {
      if (!failed(r, w)) {
        w.ok();
      }
    });
  }

  private static void getset(RespSession s, byte[][] a) {
    s.routeLending(Frame.request(Opcode.GET_AND_SET, 0, key(a[1]), a[2], 0L), 2, StringCommands::previousOrNull);
  }

  /** SET GET's and GETSET's reply: the previous value, lent (LentValue) or in the frame, or null. */
  private static void previousOrNull(Frame r, LentValue lent, RespWriter w) {
    if (failed(r, w)) {
      return;
    }
    if (!r.hasFlag(Flags.PREVIOUS_PRESENT)) {
      w.nil();
    } else if (lent != null) {
      lent.writeBulk(w);
    } else {
      w.bulk(r.value());
    }
  }

  /** A value reply (GET's form) whose value may have been lent (LentValue). */
  private static void valueOrNull(Frame r, LentValue lent, RespWriter w) {
    if (lent != null && r.status() == Status.OK) {
      lent.writeBulk(w);
    } else {
      valueOrNull(r, w);
    }
  }

  private static void getdel(RespSession s, byte[][] a) {
    s.routeLending(Frame.request(Opcode.GET_AND_DELETE, key(a[1])), -1, StringCommands::valueOrNull);
  }

  /*
   * GETEX is a GET followed, when the key exists, by EXPIRE or PERSIST: two requests to the same
   * owner, not one atomic step (see docs/PROTOCOL.md). Without an option it is a GET, and its
   * value is written into the reply from the store as GET's is (one copy); with one, the value is
   * lent (copied off the heap) until the second request is answered.
   */
  private static void getex(RespSession s, byte[][] a) {
    byte[] key = key(a[1]);
    if (a.length == 2) {
      s.routeValue(Frame.request(Opcode.GET, key), StringCommands::valueOrNull);
      return;
    }
    int expiryAt = -1;
    boolean persist = false;
    for (int i = 2; i < a.length; i++) {
      byte[] opt = a[i];
      boolean hasNext = i + 1 < a.length;
      if (is(opt, "persist") && expiryAt < 0 && !persist) {
        persist = true;
      } else if (hasNext && expiryAt < 0 && !persist && isExpiryOption(opt)) {
        expiryAt = i++;
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    // Redis reads the amount only once it found the key: a missing key answers null even for
    // "EX 0", so a bad amount is reported only when the GET finds the key.
    Expiry expiry = null;
    String badExpiry = null;
    if (expiryAt >= 0) {
      try {
        expiry = expiryOption(s, a, expiryAt, "getex");
      } catch (CommandException e) {
        badExpiry = e.getMessage();
      }
    }
    String error = badExpiry;
    LentValue.Render render = (r, lent, w) -> {
      if (error != null && r.status() == Status.OK) {
        w.error(error);
      } else {
        valueOrNull(r, lent, w);
      }
    };
    // The GET's value may be lent (kept off the heap until the EXPIRE is answered; LentValue).
    LentValue lender = s.lender(key, render);
    CompletableFuture<Frame> got = s.sendLending(Frame.request(Opcode.GET, key), lender);
    Frame then;
    if (expiry != null) {
      then = Frame.request(Opcode.EXPIRE, expiry.flags(), key, null, expiry.ttl(), 0L);
    } else if (persist) {
      then = Frame.request(Opcode.PERSIST, key);
    } else {
      then = null;
    }
    CompletableFuture<Frame> done = then == null
        ? got
        : got.thenCompose(r -> r.status() == Status.OK
            ? s.send(then).thenApply(ignored -> r)
            : CompletableFuture.completedFuture(r));
    s.await(done, lender != null ? lender : (r, w) -> render.write(r, null, w));
  }

  private static void mget(RespSession s, byte[][] a) {
    List<byte[]> keys = new ArrayList<>(a.length - 1);
    for (int i = 1; i < a.length; i++) {
      keys.add(key(a[i]));
    }
    int n = keys.size();
    s.route(Frame.request(Opcode.MULTI_GET, 0, null, ListCodec.encodeKeys(keys)), (r, w) -> {
      if (failed(r, w)) {
        return;
      }
      List<byte[]> values = ListCodec.decodeValues(r.value());
      if (values.size() != n) {
        w.error("ERR internal error: MULTI_GET answered " + values.size() + " values for " + n + " keys");
        return;
      }
      w.array(n);
      for (byte[] v : values) {
        w.bulkOrNull(v);
      }
    });
  }

  /**
   * Routes MSET's or MSETNX's pairs as one pair list. Values the connection still holds in buffers
   * (RespSession.takeValue) stay there: the list is then a BufferedPairs, and the node that serves
   * it copies each value from its buffer into the store.
   */
  private static void routePairs(RespSession s, Opcode op, byte[][] a, String command, RespSession.Reply reply,
      long... extras) {
    if (a.length % 2 == 0) {
      throw new CommandException(RespErrors.wrongArity(command));
    }
    List<byte[]> keys = new ArrayList<>(a.length / 2);
    for (int i = 1; i < a.length; i += 2) {
      keys.add(key(a[i]));
    }
    // Every key checked before any buffer is taken: what is not taken, the session releases.
    List<byte[]> values = new ArrayList<>(keys.size());
    List<io.netty.buffer.ByteBuf> buffers = new ArrayList<>(keys.size());
    boolean buffered = false;
    for (int i = 2; i < a.length; i += 2) {
      io.netty.buffer.ByteBuf b = s.takeValue(i);
      values.add(b == null ? a[i] : null);
      buffers.add(b);
      buffered |= b != null;
    }
    if (!buffered) {
      s.route(Frame.request(op, 0, null, ListCodec.encodePairs(keys, values), extras), reply);
      return;
    }
    io.distcache.protocol.BufferedValue list = io.distcache.protocol.BufferedPairs.encode(keys, values, buffers);
    s.routeBuffered(Frame.request(op, 0, null, Frame.EMPTY, extras), list, reply);
  }

  private static void mset(RespSession s, byte[][] a) {
    routePairs(s, Opcode.MULTI_SET, a, "mset", (r, w) -> {
      if (!failed(r, w)) {
        w.ok();
      }
    }, 0L);
  }

  private static void msetnx(RespSession s, byte[][] a) {
    routePairs(s, Opcode.MULTI_SET_IF_ABSENT, a, "msetnx", StringCommands::oneIfOk);
  }

  private static void append(RespSession s, byte[][] a) {
    // A suffix still in the connection's buffer goes from there into the store (BufferedValue).
    s.routeWithValue(Frame.request(Opcode.APPEND, 0, key(a[1]), a[2]), 2, StringCommands::firstExtra);
  }

  private static void strlen(RespSession s, byte[][] a) {
    s.route(Frame.request(Opcode.STRLEN, key(a[1])), StringCommands::firstExtra);
  }

  private static void getrange(RespSession s, byte[][] a) {
    byte[] key = key(a[1]);
    long start = Args.parseLong(a[2]);
    long end = Args.parseLong(a[3]);
    s.route(Frame.request(Opcode.GET_RANGE, 0, key, null, start, end), (r, w) -> {
      if (!failed(r, w)) {
        w.bulk(r.status() == Status.OK ? r.value() : Frame.EMPTY);
      }
    });
  }

  private static void setrange(RespSession s, byte[][] a) {
    byte[] key = key(a[1]);
    long offset = Args.parseLong(a[2]);
    if (offset < 0) {
      throw new CommandException(RespErrors.OFFSET_OUT_OF_RANGE);
    }
    byte[] value = a[3];
    // Subtracting keeps the comparison exact where offset + length would overflow.
    if (value.length > 0 && offset > s.context().limits().maxBulkBytes() - value.length) {
      throw new CommandException(RespErrors.TOO_LARGE);
    }
    s.route(Frame.request(Opcode.SET_RANGE, 0, key, value, offset), StringCommands::firstExtra);
  }

  private static void decrby(RespSession s, byte[][] a) {
    long delta = Args.parseLong(a[2]);
    if (delta == Long.MIN_VALUE) {
      throw new CommandException("ERR decrement would overflow");
    }
    incrBy(s, a[1], -delta);
  }

  private static void incrBy(RespSession s, byte[] key, long delta) {
    s.route(Frame.request(Opcode.INCREMENT, 0, key(key), null, delta), StringCommands::firstExtra);
  }

  private static void incrbyfloat(RespSession s, byte[][] a) {
    byte[] key = key(a[1]);
    double delta = Args.parseDouble(a[2]);
    if (Double.isInfinite(delta)) {
      throw new CommandException(RespErrors.FLOAT_OVERFLOW);
    }
    byte[] text = Args.isHexFloat(a[2]) ? Args.utf8(Double.toString(delta)) : a[2];
    s.route(Frame.request(Opcode.INCREMENT_FLOAT, 0, key, text), (r, w) -> {
      if (!failed(r, w, true)) {
        w.bulk(r.value());
      }
    });
  }
}
