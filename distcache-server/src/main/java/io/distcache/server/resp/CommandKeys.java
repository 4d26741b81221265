package io.distcache.server.resp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/*
 * Design: where a command's keys are, read from the command table, for COMMAND GETKEYS and
 * GETKEYSANDFLAGS and for client tracking. A command's keys sit at its spec's first, last (negative:
 * from the end) and step positions; the "movablekeys" commands (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO,
 * FCALL, FCALL_RO) are all EVAL-shaped, their keys the numkeys arguments after argument 2, read by
 * the same ScriptCommands code that builds their requests. Cluster clients whose own table cannot
 * find the keys (redis-py's RedisCluster for FCALL and EVAL variants) ask COMMAND GETKEYS to route.
 *
 * The replies and errors follow Redis 7 in its order: an unknown command (or subcommand) is
 * "Invalid command specified", one without key positions "The command has no key arguments", a
 * wrong arity "Invalid number of arguments specified for command", a numkeys that is not 1 to the
 * arguments after it "Invalid arguments specified for command", except for EVAL and friends, which
 * answer an empty array then (no_mandatory_keys). Redis reads numkeys there with C's atoi. The key
 * flags of GETKEYSANDFLAGS are Redis's for the scripting commands (RW access update; RO access for
 * the read-only variants) and otherwise the honest subset the table knows: RO for a command that
 * only reads, RW for one that writes, not_key for the shard channels of SPUBLISH and friends.
 */

/** The keys of a command line, and COMMAND GETKEYS / GETKEYSANDFLAGS. */
final class CommandKeys {
  static final String INVALID_COMMAND = "ERR Invalid command specified";
  static final String NO_KEYS = "ERR The command has no key arguments";
  static final String INVALID_ARITY = "ERR Invalid number of arguments specified for command";
  static final String INVALID_ARGS = "ERR Invalid arguments specified for command";

  /**
   * Commands whose key positions name shard channels: they route by slot like keys, but Redis
   * marks them "not a key" (for ACLs only &pattern rules apply to them, never ~pattern ones).
   */
  static final Set<String> CHANNEL_NOT_KEY = Set.of("spublish", "ssubscribe", "sunsubscribe");

  private CommandKeys() {}

  /** The key arguments of {@code args} by the spec's first key, last key (negative: from the end) and step. */
  static List<byte[]> range(CommandSpec spec, byte[][] args) {
    int first = spec.firstKey();
    if (first <= 0) {
      return List.of();
    }
    int last = spec.lastKey() < 0 ? args.length + spec.lastKey() : spec.lastKey();
    int step = Math.max(1, spec.step());
    List<byte[]> keys = new ArrayList<>();
    for (int i = first; i <= last && i < args.length; i += step) {
      keys.add(args[i]);
    }
    return keys;
  }

  /**
   * Commands besides the scripting ones whose keys are counted by a numkeys argument, and its
   * position: the keys follow it. Their table spec names only the first key (as Redis's legacy
   * first/last/step does), so ACL key checks, tracking and GETKEYS read the count here (an ACL user
   * limited to some keys could otherwise name others after the first; found in review).
   */
  private static final Map<String, Integer> NUMKEYS_AT = Map.ofEntries(Map.entry("sintercard", 1),
      Map.entry("zunion", 1), Map.entry("zinter", 1), Map.entry("zdiff", 1), Map.entry("zintercard", 1),
      Map.entry("zunionstore", 2), Map.entry("zinterstore", 2), Map.entry("zdiffstore", 2), Map.entry("zmpop", 1),
      Map.entry("bzmpop", 2));

  /**
   * The keys of {@code args} (the whole command line, its name first): the spec's range, or for a
   * numkeys command the keys its count names (after the spec's keys before the count: a STORE
   * form's destination), bounded by the arguments there are (a count the
   * command refuses gives what is there, so nothing is left unchecked). Not for the scripting
   * commands (see movable): their calls are checked one by one as they run.
   */
  static List<byte[]> keys(CommandSpec spec, byte[][] args) {
    Integer at = NUMKEYS_AT.get(spec.name());
    if (at == null || args.length <= at) {
      return range(spec, args);
    }
    long n;
    try {
      n = Args.parseLong(args[at]);
    } catch (CommandException e) {
      return range(spec, args);
    }
    return counted(spec, args, at, (int) Math.max(1, Math.min(n, args.length - at - 1L)));
  }

  /** The spec's keys before the numkeys argument at {@code at} (a STORE form's destination), then {@code count} after it. */
  private static List<byte[]> counted(CommandSpec spec, byte[][] args, int at, int count) {
    List<byte[]> keys = new ArrayList<>(count + 1);
    for (int i = spec.firstKey(); i > 0 && i < at; i++) {
      keys.add(args[i]);
    }
    for (int i = at + 1; i <= at + count && i < args.length; i++) {
      keys.add(args[i]);
    }
    return keys;
  }

  /**
   * C's atoi, which Redis's getkeys functions read numkeys with (after its stricter parse found the
   * count out of range or not a number): leading white space, a sign, then the digits up to the
   * first other character ("2x" is 2, "x" is 0); strtol's long, clamped on overflow, cast to int.
   */
  static int atoi(byte[] s) {
    int i = 0;
    while (i < s.length && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r')) {
      i++;
    }
    boolean negative = false;
    if (i < s.length && (s[i] == '+' || s[i] == '-')) {
      negative = s[i] == '-';
      i++;
    }
    long v = 0;
    boolean overflow = false;
    for (; i < s.length && s[i] >= '0' && s[i] <= '9'; i++) {
      int digit = s[i] - '0';
      if (overflow || v > (Long.MAX_VALUE - digit) / 10) {
        overflow = true;
      } else {
        v = v * 10 + digit;
      }
    }
    long clamped = overflow ? (negative ? Long.MIN_VALUE : Long.MAX_VALUE) : (negative ? -v : v);
    return (int) clamped;
  }

  /** True for the EVAL-shaped commands whose keys are counted by their numkeys argument. */
  static boolean movable(CommandSpec spec) {
    return spec.flags().contains("movablekeys");
  }

  /** COMMAND GETKEYS (false) or GETKEYSANDFLAGS (true): {@code a} is "command", "getkeys", command, args... */
  static void getKeys(RespSession s, byte[][] a, boolean withFlags) {
    byte[][] line = Arrays.copyOfRange(a, 2, a.length);
    CommandSpec spec = s.commands().lookup(line[0]);
    if (spec == null) {
      throw new CommandException(INVALID_COMMAND);
    }
    String fullName = spec.name();
    if (spec.subcommands() != null && line.length > 1) {
      CommandSpec sub = spec.subcommands().get(Args.lower(line[1]));
      if (sub == null) {
        throw new CommandException(INVALID_COMMAND);
      }
      fullName = sub.fullName(spec.name());
      spec = sub;
    }
    if (spec.firstKey() <= 0 && !movable(spec)) {
      throw new CommandException(NO_KEYS);
    }
    if (!spec.arityAccepts(line.length)) {
      throw new CommandException(INVALID_ARITY);
    }
    List<byte[]> keys;
    if (movable(spec)) {
      // Redis reads numkeys as atoi; a count it cannot use gives no keys, and these commands may
      // have none (no_mandatory_keys): an empty array, not an error (checked with 7.0.15).
      int numKeys = atoi(line[2]);
      keys = numKeys >= 1 && numKeys <= line.length - 3 ? ScriptCommands.keysOf(line, numKeys) : List.of();
    } else {
      Integer at = NUMKEYS_AT.get(spec.name());
      if (at != null) {
        // Unlike keys() (ACLs take what is there), a count that is not 1 to the arguments after it
        // is refused, as the command itself would refuse it.
        int numKeys = atoi(line[at]);
        if (numKeys < 1 || numKeys > line.length - at - 1) {
          throw new CommandException(INVALID_ARGS);
        }
        keys = counted(spec, line, at, numKeys);
      } else {
        keys = range(spec, line);
        if (keys.isEmpty()) {
          throw new CommandException(INVALID_ARGS);
        }
      }
    }
    RespWriter w = s.out();
    w.array(keys.size());
    List<String> flags = withFlags ? flags(spec, fullName) : List.of();
    for (byte[] key : keys) {
      if (!withFlags) {
        w.bulk(key);
        continue;
      }
      w.array(2);
      w.bulk(key);
      w.array(flags.size());
      for (String f : flags) {
        w.simple(f);
      }
    }
  }

  /** The key flags GETKEYSANDFLAGS gives every key of {@code spec} (see the design note). */
  static List<String> flags(CommandSpec spec, String fullName) {
    if (CHANNEL_NOT_KEY.contains(fullName)) {
      return List.of("not_key");
    }
    boolean write = spec.flags().contains("write") || spec.flags().contains("may_replicate");
    if (movable(spec)) {
      return write ? List.of("RW", "access", "update") : List.of("RO", "access");
    }
    return write ? List.of("RW") : List.of("RO");
  }
}
