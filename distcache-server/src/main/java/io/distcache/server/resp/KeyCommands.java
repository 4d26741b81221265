package io.distcache.server.resp;

import static io.distcache.server.resp.Args.is;
import static io.distcache.server.resp.Args.key;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ValueType;
import io.distcache.protocol.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Keyspace commands: DEL, EXISTS, TYPE, the EXPIRE family, TTL family, PERSIST. */
final class KeyCommands {
  private KeyCommands() {}

  private static final int ALWAYS = 0;
  private static final int NX = 1;
  private static final int XX = 2;
  private static final int GT = 3;
  private static final int LT = 4;

  static void register(CommandTable.Registry r) {
    r.add("del", -2, "write", 1, -1, 1, "keyspace", (s, a) -> delete(s, a));
    r.add("unlink", -2, "write fast", 1, -1, 1, "keyspace", (s, a) -> delete(s, a));
    r.add("exists", -2, "readonly fast", 1, -1, 1, "keyspace", KeyCommands::exists);
    r.add("type", 2, "readonly fast", 1, 1, 1, "keyspace", KeyCommands::type);
    r.add("expire", -3, "write fast", 1, 1, 1, "keyspace", (s, a) -> expire(s, a, true, false, "expire"));
    r.add("pexpire", -3, "write fast", 1, 1, 1, "keyspace", (s, a) -> expire(s, a, false, false, "pexpire"));
    r.add("expireat", -3, "write fast", 1, 1, 1, "keyspace", (s, a) -> expire(s, a, true, true, "expireat"));
    r.add("pexpireat", -3, "write fast", 1, 1, 1, "keyspace", (s, a) -> expire(s, a, false, true, "pexpireat"));
    r.add("ttl", 2, "readonly fast", 1, 1, 1, "keyspace", (s, a) -> ttl(s, a, false, false));
    r.add("pttl", 2, "readonly fast", 1, 1, 1, "keyspace", (s, a) -> ttl(s, a, true, false));
    r.add("expiretime", 2, "readonly fast", 1, 1, 1, "keyspace", (s, a) -> ttl(s, a, false, true));
    r.add("pexpiretime", 2, "readonly fast", 1, 1, 1, "keyspace", (s, a) -> ttl(s, a, true, true));
    r.add("persist", 2, "write fast", 1, 1, 1, "keyspace", KeyCommands::persist);
  }

  private static List<byte[]> keys(byte[][] a) {
    List<byte[]> keys = new ArrayList<>(a.length - 1);
    for (int i = 1; i < a.length; i++) {
      keys.add(key(a[i]));
    }
    return keys;
  }

  private static void delete(RespSession s, byte[][] a) {
    if (a.length == 2) {
      s.route(Frame.request(Opcode.DELETE, key(a[1])), StringCommands::oneIfOk);
    } else {
      s.route(Frame.request(Opcode.MULTI_DELETE, 0, null, ListCodec.encodeKeys(keys(a))), StringCommands::firstExtra);
    }
  }

  private static void exists(RespSession s, byte[][] a) {
    if (a.length == 2) {
      s.route(Frame.request(Opcode.EXISTS, key(a[1])), StringCommands::oneIfOk);
    } else {
      s.route(Frame.request(Opcode.MULTI_EXISTS, 0, null, ListCodec.encodeKeys(keys(a))), StringCommands::firstExtra);
    }
  }

  private static void type(RespSession s, byte[][] a) {
    s.route(Frame.request(Opcode.KEY_OP, 0, key(a[1]), null, io.distcache.protocol.KeyOperation.TYPE), (r, w) -> {
      if (!StringCommands.failed(r, w)) {
        ValueType t = r.status() == Status.OK ? ValueType.fromCode(r.extra(0, -1)) : null;
        w.simple(t == null ? "none" : t.redisName());
      }
    });
  }

  private static void expire(RespSession s, byte[][] a, boolean seconds, boolean absolute, String command) {
    byte[] key = key(a[1]);
    boolean nx = false;
    boolean xx = false;
    boolean gt = false;
    boolean lt = false;
    for (int i = 3; i < a.length; i++) {
      if (is(a[i], "nx")) {
        nx = true;
      } else if (is(a[i], "xx")) {
        xx = true;
      } else if (is(a[i], "gt")) {
        gt = true;
      } else if (is(a[i], "lt")) {
        lt = true;
      } else {
        throw new CommandException("ERR Unsupported option " + Args.latin1(a[i]));
      }
    }
    if (nx && (xx || gt || lt)) {
      throw new CommandException("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if (gt && lt) {
      throw new CommandException("ERR GT and LT options at the same time are not compatible");
    }
    // Redis checks the options before the amount.
    long amount = Args.parseLong(a[2]);
    Expiry e = Expiry.lenient(amount, seconds, absolute, s.context().clock().millis(), command);
    // GT already fails on a key without expiry, so XX adds nothing to it; XX with LT does not fit
    // the one condition of the wire format and is checked by a TTL request first.
    int condition = nx ? NX : gt ? GT : lt ? LT : xx ? XX : ALWAYS;
    Frame request = Frame.request(Opcode.EXPIRE, e.flags(), key, null, e.ttl(), condition);
    if (xx && lt) {
      CompletableFuture<Frame> done = s.send(Frame.request(Opcode.TTL, key))
          .thenCompose(t -> t.status() == Status.OK && t.extra(0, -1) >= 0
              ? s.send(request)
              : CompletableFuture.completedFuture(t.status().isError() ? t : t.reply(Status.CONDITION_FAILED)));
      s.await(done, StringCommands::oneIfOk);
    } else {
      s.route(request, StringCommands::oneIfOk);
    }
  }

  private static void ttl(RespSession s, byte[][] a, boolean millis, boolean absolute) {
    s.route(Frame.request(Opcode.TTL, key(a[1])), (r, w) -> {
      if (StringCommands.failed(r, w)) {
        return;
      }
      if (r.status() != Status.OK) {
        w.integer(-2);
        return;
      }
      long t = absolute ? r.extra(1, -1) : r.extra(0, -1);
      if (t < 0) {
        w.integer(-1);
      } else {
        w.integer(millis ? t : (t + 500) / 1000);
      }
    });
  }

  private static void persist(RespSession s, byte[][] a) {
    s.route(Frame.request(Opcode.PERSIST, key(a[1])), StringCommands::oneIfOk);
  }
}
