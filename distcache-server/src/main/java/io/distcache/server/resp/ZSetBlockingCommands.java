package io.distcache.server.resp;

import static io.distcache.server.resp.Args.key;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.SortedSets;
import io.distcache.protocol.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/*
 * Design: BZPOPMIN, BZPOPMAX and BZMPOP parse as Redis 7.0 does (the timeout first, then as ZMPOP)
 * and are ZMPOP when they need not wait: members answer at once, and inside MULTI/EXEC or a script
 * (RespSession.capturing) they never block, answering nil when every key is empty, as Redis does
 * for a client that may not block. Otherwise BlockingPop waits for members (its design note says
 * how, and where a client may block in a cluster), and the connection runs nothing else meanwhile.
 */

/** BZPOPMIN, BZPOPMAX, BZMPOP, and CLIENT UNBLOCK of a client they block. */
final class ZSetBlockingCommands {
  private ZSetBlockingCommands() {}

  static final String TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range";
  static final String TIMEOUT_NEGATIVE = "ERR timeout is negative";
  /** Redis's reply to a client CLIENT UNBLOCK ... ERROR unblocked. */
  static final String UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

  static void register(CommandTable.Registry r) {
    r.add("bzpopmin", -3, "write noscript blocking fast", 1, -2, 1, "sortedset", (s, a) -> bzpop(s, a, false));
    r.add("bzpopmax", -3, "write noscript blocking fast", 1, -2, 1, "sortedset", (s, a) -> bzpop(s, a, true));
    r.add("bzmpop", -5, "write blocking", 3, 3, 1, "sortedset", ZSetBlockingCommands::bzmpop);
  }

  /**
   * A timeout in seconds (a float) as milliseconds, rounded up; 0 waits for ever. Redis 7.0's texts,
   * including "timeout is negative" for one too large for its millisecond clock (inf, 1e20).
   */
  static long timeoutMillis(byte[] arg) {
    double seconds;
    try {
      seconds = Args.parseDouble(arg);
    } catch (CommandException e) {
      throw new CommandException(TIMEOUT_NOT_FLOAT);
    }
    double millis = Math.ceil(seconds * 1000.0);
    if (millis < 0 || millis >= 0x1p63) {
      throw new CommandException(TIMEOUT_NEGATIVE);
    }
    return (long) millis;
  }

  /* BZPOPMIN key [key ...] timeout → [key, member, score] | null array. */
  private static void bzpop(RespSession s, byte[][] a, boolean max) {
    long timeout = timeoutMillis(a[a.length - 1]);
    List<byte[]> keys = new ArrayList<>(a.length - 2);
    for (int i = 1; i < a.length - 1; i++) {
      keys.add(key(a[i]));
    }
    pop(s, max ? "bzpopmax" : "bzpopmin", keys, max, 1, timeout, ZSetBlockingCommands::bzpopReply);
  }

  private static void bzmpop(RespSession s, byte[][] a) {
    long timeout = timeoutMillis(a[1]);
    ZSetAlgebraCommands.Pop pop = ZSetAlgebraCommands.parsePop(a, 2);
    pop(s, "bzmpop", pop.keys(), pop.max(), pop.count(), timeout, ZSetAlgebraCommands::mpopReply);
  }

  private static void pop(RespSession s, String command, List<byte[]> keys, boolean max, long count, long timeout,
      RespSession.Reply reply) {
    if (s.capturing()) {
      s.route(Frame.request(Opcode.ZSETS, 0, keys.get(0), ListCodec.encodeValues(keys.subList(1, keys.size())),
          SortedSets.ZMPOP, max ? 1 : 0, count), reply);
      return;
    }
    BlockingPop p = new BlockingPop(s, command, keys, max, count, timeout);
    s.block(p);
    p.start();
    s.await(p.result(), (r, w) -> {
      if (r.status() == Status.NOT_FOUND && p.unblockedWithError()) {
        w.error(UNBLOCKED);
      } else {
        reply.write(r, w);
      }
    });
  }

  /**
   * CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 when that client of this node was blocked here (it then
   * gets its timeout reply, or {@link #UNBLOCKED}), 0 otherwise, as Redis answers.
   */
  static void unblock(RespSession s, byte[][] a) {
    long id = Args.parseLong(a[2]);
    boolean error = false;
    if (a.length == 4) {
      if (Args.is(a[3], "error")) {
        error = true;
      } else if (!Args.is(a[3], "timeout")) {
        throw new CommandException("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
      }
    } else if (a.length > 4) {
      throw new CommandException("ERR unknown subcommand or wrong number of arguments for '" + Args.latin1(a[1])
          + "'. Try CLIENT HELP.");
    }
    BlockingPop pop = null;
    for (ClientState c : s.context().stats().clients()) {
      if (c.id == id) {
        pop = c.blockingPop;
        break;
      }
    }
    if (pop == null || pop.done()) {
      s.out().integer(0);
      return;
    }
    CompletableFuture<Boolean> wasBlocked = pop.unblock(error);
    s.await(wasBlocked.thenApply(b -> UNBLOCK_DONE), (r, w) -> w.integer(wasBlocked.join() ? 1 : 0));
  }

  /** What CLIENT UNBLOCK's reply waits for; the answer itself is the boolean beside it. */
  private static final Frame UNBLOCK_DONE = Frame.request(Opcode.PING, null).replyOk();

  private static void bzpopReply(Frame r, RespWriter w) {
    List<byte[]> values = ZSetAlgebraCommands.popped(r, w);
    if (values == null) {
      return;
    }
    w.array(3);
    w.bulk(values.get(0));
    w.bulk(values.get(1));
    w.dbl(SortedSets.decodeScore(values.get(2)));
  }
}
