package io.distcache.server.resp;

import static io.distcache.server.resp.Args.is;
import static io.distcache.server.resp.Args.key;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.SortedSets;
import io.distcache.protocol.Status;
import java.util.ArrayList;
import java.util.List;

/*
 * Design: the sorted-set commands over several keys, parsed in Redis 7's order with its texts
 * (zunionInterDiffGenericCommand, zmpopGenericCommand) into one ZSETS request each (SortedSets:
 * ZUNION ... ZMPOP), whose other keys travel in the value, so in a cluster with other owners every
 * key must share the first's slot (CROSSSLOT), as in Redis Cluster; the owner runs it atomically
 * (cluster/ZSetRequests).
 *
 * Redis looks the sources up (WRONGTYPE) before it reads WEIGHTS, AGGREGATE, WITHSCORES and LIMIT,
 * while here the options are read first. So that a command with a bad option on a key of another
 * type still answers WRONGTYPE, a bad option is answered only after a ZINTERCARD with limit 1 of
 * the sources has type-checked them (an extra round trip on that error path only).
 */

/** ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD, ZRANGESTORE, ZMPOP. */
final class ZSetAlgebraCommands {
  private ZSetAlgebraCommands() {}

  static final String WEIGHT_NOT_FLOAT = "ERR weight value is not a float";
  static final String LIMIT_NEGATIVE = "ERR LIMIT can't be negative";
  static final String NUMKEYS_POSITIVE = "ERR numkeys should be greater than 0";
  static final String COUNT_POSITIVE = "ERR count should be greater than 0";

  static void register(CommandTable.Registry r) {
    // Key positions as SINTERCARD's: the first counted key (and a STORE form's destination before
    // it); CommandKeys reads the count for ACLs, tracking and COMMAND GETKEYS.
    r.add("zunion", -3, "readonly", 2, 2, 1, "sortedset", (s, a) -> algebra(s, a, SortedSets.ZUNION, "zunion"));
    r.add("zinter", -3, "readonly", 2, 2, 1, "sortedset", (s, a) -> algebra(s, a, SortedSets.ZINTER, "zinter"));
    r.add("zdiff", -3, "readonly", 2, 2, 1, "sortedset", (s, a) -> algebra(s, a, SortedSets.ZDIFF, "zdiff"));
    r.add("zintercard", -3, "readonly", 2, 2, 1, "sortedset",
        (s, a) -> algebra(s, a, SortedSets.ZINTERCARD, "zintercard"));
    r.add("zunionstore", -4, "write denyoom", 1, 1, 1, "sortedset",
        (s, a) -> algebra(s, a, SortedSets.ZUNIONSTORE, "zunionstore"));
    r.add("zinterstore", -4, "write denyoom", 1, 1, 1, "sortedset",
        (s, a) -> algebra(s, a, SortedSets.ZINTERSTORE, "zinterstore"));
    r.add("zdiffstore", -4, "write denyoom", 1, 1, 1, "sortedset",
        (s, a) -> algebra(s, a, SortedSets.ZDIFFSTORE, "zdiffstore"));
    r.add("zrangestore", -5, "write denyoom", 1, 2, 1, "sortedset", ZSetCommands::zrangestore);
    r.add("zmpop", -4, "write", 2, 2, 1, "sortedset", (s, a) -> {
      Pop pop = parsePop(a, 1);
      send(s, pop.keys().get(0), SortedSets.ZMPOP, pop.keys().subList(1, pop.keys().size()),
          ZSetAlgebraCommands::mpopReply, pop.max() ? 1 : 0, pop.count());
    });
  }

  /** What ZMPOP and BZMPOP name: their keys, the end to pop from, and how many. */
  record Pop(List<byte[]> keys, boolean max, long count) {}

  /** ZMPOP's (and BZMPOP's) arguments from its numkeys at {@code at}: Redis's zmpopGenericCommand. */
  static Pop parsePop(byte[][] a, int at) {
    long numkeys = Args.parseLong(a[at], NUMKEYS_POSITIVE);
    if (numkeys < 1) {
      throw new CommandException(NUMKEYS_POSITIVE);
    }
    if (numkeys >= a.length - at - 1) {
      throw new CommandException(RespErrors.SYNTAX); // no MIN|MAX after the keys
    }
    int where = at + (int) numkeys + 1;
    boolean max;
    if (is(a[where], "max")) {
      max = true;
    } else if (is(a[where], "min")) {
      max = false;
    } else {
      throw new CommandException(RespErrors.SYNTAX);
    }
    long count = -1;
    for (int j = where + 1; j < a.length; j++) {
      if (count == -1 && is(a[j], "count") && j + 1 < a.length) {
        count = Args.parseLong(a[++j], COUNT_POSITIVE);
        if (count < 1) {
          throw new CommandException(COUNT_POSITIVE);
        }
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    List<byte[]> keys = new ArrayList<>((int) numkeys);
    for (int i = at + 1; i < where; i++) {
      keys.add(key(a[i]));
    }
    return new Pop(keys, max, count == -1 ? 1 : Math.min(count, ProtocolConstants.MAX_COLLECTION_ELEMENTS_LIMIT));
  }

  /** ZMPOP's reply: a null array, or [key, [[member, score], ...]] (nested in RESP2 too, as Redis). */
  static void mpopReply(Frame r, RespWriter w) {
    List<byte[]> values = popped(r, w);
    if (values == null) {
      return;
    }
    w.array(2);
    w.bulk(values.get(0));
    w.array((values.size() - 1) / 2);
    for (int i = 1; i < values.size(); i += 2) {
      w.array(2);
      w.bulk(values.get(i));
      w.dbl(SortedSets.decodeScore(values.get(i + 1)));
    }
  }

  /** A ZMPOP response's values (the key, then member, score, ...), or null once its error or nil is written. */
  static List<byte[]> popped(Frame r, RespWriter w) {
    if (StringCommands.failed(r, w)) {
      return null;
    }
    if (r.status() != Status.OK) {
      w.nullArray();
      return null;
    }
    return ListCodec.decodeValues(r.value());
  }

  private static void send(RespSession s, byte[] key, long command, List<byte[]> args, RespSession.Reply reply,
      long... more) {
    StringCommands.sendTyped(s, Opcode.ZSETS, key, command, args, reply, more);
  }

  /* Redis's zunionInterDiffGenericCommand: numkeys, the keys, then the options. */
  private static void algebra(RespSession s, byte[][] a, int command, String name) {
    boolean stored = command >= SortedSets.ZUNIONSTORE;
    int at = stored ? 2 : 1;
    long numkeys = Args.parseLong(a[at]);
    if (numkeys < 1) {
      throw new CommandException("ERR at least 1 input key is needed for '" + name + "' command");
    }
    if (numkeys > a.length - at - 1) {
      throw new CommandException(RespErrors.SYNTAX);
    }
    int n = (int) numkeys;
    List<byte[]> sources = new ArrayList<>(n);
    for (int i = at + 1; i <= at + n; i++) {
      sources.add(key(a[i]));
    }
    int op = stored ? command - (SortedSets.ZUNIONSTORE - SortedSets.ZUNION) : command;
    List<byte[]> weights = null;
    long aggregate = SortedSets.AGGREGATE_SUM;
    boolean withScores = false;
    long limit = 0;
    try {
      for (int j = at + n + 1; j < a.length; j++) {
        int remaining = a.length - j;
        if (op != SortedSets.ZDIFF && op != SortedSets.ZINTERCARD && remaining >= n + 1 && is(a[j], "weights")) {
          weights = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            double weight;
            try {
              weight = Args.parseDouble(a[++j]);
            } catch (CommandException e) {
              throw new CommandException(WEIGHT_NOT_FLOAT);
            }
            weights.add(SortedSets.encodeScore(weight));
          }
        } else if (op != SortedSets.ZDIFF && op != SortedSets.ZINTERCARD && remaining >= 2 && is(a[j], "aggregate")) {
          byte[] kind = a[++j];
          if (is(kind, "sum")) {
            aggregate = SortedSets.AGGREGATE_SUM;
          } else if (is(kind, "min")) {
            aggregate = SortedSets.AGGREGATE_MIN;
          } else if (is(kind, "max")) {
            aggregate = SortedSets.AGGREGATE_MAX;
          } else {
            throw new CommandException(RespErrors.SYNTAX);
          }
        } else if (!stored && command != SortedSets.ZINTERCARD && is(a[j], "withscores")) {
          withScores = true;
        } else if (command == SortedSets.ZINTERCARD && remaining >= 2 && is(a[j], "limit")) {
          limit = Args.parseLong(a[++j], LIMIT_NEGATIVE);
          if (limit < 0) {
            throw new CommandException(LIMIT_NEGATIVE);
          }
        } else {
          throw new CommandException(RespErrors.SYNTAX);
        }
      }
    } catch (CommandException bad) {
      // Redis type-checks the sources before it reads the options: WRONGTYPE comes first.
      send(s, sources.get(0), SortedSets.ZINTERCARD, sources.subList(1, n), (r, w) -> {
        if (!StringCommands.failed(r, w)) {
          w.error(bad.getMessage());
        }
      }, n - 1, SortedSets.AGGREGATE_SUM, 0, 1);
      return;
    }
    byte[] key = stored ? key(a[1]) : sources.get(0);
    List<byte[]> value = new ArrayList<>(stored ? sources : sources.subList(1, n));
    int others = value.size();
    if (weights != null) {
      value.addAll(weights);
    }
    boolean scores = withScores;
    RespSession.Reply reply = stored || command == SortedSets.ZINTERCARD ? StringCommands::firstExtra : (r, w) -> {
      if (!StringCommands.failed(r, w)) {
        ZSetCommands.pairs(w, ListCodec.decodeValues(r.value()), scores, true);
      }
    };
    send(s, key, command, value, reply, others, aggregate, weights != null ? 1 : 0, limit);
  }
}
