package io.distcache.server.resp;

import io.distcache.server.cluster.ScriptHost;

/*
 * Design: what a command that names no key does while a script runs on this node. Redis runs a
 * script on its one thread: until busy-reply-threshold no other client is served at all; past it,
 * every command gets -BUSY except those flagged allow_busy (AUTH, HELLO, RESET, QUIT, MULTI,
 * DISCARD, WATCH, UNWATCH, SCRIPT KILL, FUNCTION KILL, FUNCTION STATS, SHUTDOWN in 7.0.15's table).
 * Here a request on a key waits for its key's stripe, which the script holds (TransactionGate), and
 * the keyspace commands (DBSIZE, SCAN, FLUSHALL ...) for ScriptHost's keyspace barrier. Every other
 * command without a key (PING, ECHO, INFO, CONFIG, PUBLISH, SPUBLISH, TIME, CLIENT, SELECT ...)
 * passes here, in CommandTable.dispatch after the checks Redis makes before its busy check (name,
 * arity, ACL, subscribed mode), and waits for that barrier too: polled, then run once the script
 * ended, or Redis's BUSY text once it passed its threshold. In MULTI, Redis makes the busy check
 * before it queues, so a command to queue waits here too, whether or not it has keys (it touches
 * none until EXEC), and one refused BUSY flags the transaction (EXEC answers EXECABORT); an EXEC
 * refused BUSY discards the transaction and says why, as Redis's rejectCommand does (checked
 * against redis-server 7.0.15).
 *
 * Where it waits: not on the event loop, which serves many connections (a command waiting there
 * for seconds left every other connection of the loop unanswered, SCRIPT KILL included). While a
 * script holds the node (ScriptHost.holdsClients), the session does not run a command that would
 * wait for it (waitsForScript: every command but the allow_busy ones without keys; keyed commands
 * too, which would wait for their stripe in TransactionGate, and the keyspace ones for the barrier):
 * it keeps the command, and what the connection sent after it, in its queue of unrun commands, and
 * cluster/ScriptParking wakes it when the hold ends or, every 10 ms at most, to see whether the
 * threshold passed (the command then runs and gets BUSY from the checks below at once, without
 * waiting). Binary-protocol and forwarded requests are parked the same way (net/BinaryRequestHandler).
 * The blocking waits below (and TransactionGate's) remain for what reaches them anyway: a command
 * read in the microseconds before a script took the node.
 *
 * It waits for the script's end and lets go of the barrier at once, rather than holding it while
 * the command runs: none of these commands reads or changes the data, so what matters is that it
 * runs after the script it found running; and a handler may hand work to the script lane (FUNCTION
 * LOAD), whose scripts take the barrier exclusive, so holding it shared there could deadlock.
 *
 * Cost when no script runs: the ScriptHost.running volatile read (and RespContext's volatile read
 * of the host). That read can race with a script's start: a command that read "not running" just
 * before a script took the node may still run beside the script's first call; it touches no key.
 *
 * Not here: a script's own calls and EXEC's replay (sessions that capture: the script holds the
 * node; EXEC itself waited), the scripting commands themselves (EVAL, FCALL: the lane queues them
 * and answers BUSY past the threshold), and a connection's own script: a command sent after this
 * connection's EVAL waits in RespSession until the EVAL answers, as Redis runs a client's commands
 * in order, so it never waits here for it (or gets BUSY from it).
 */

/** Makes commands without keys wait for the node's running script, or get BUSY past its threshold. */
final class ScriptWait {
  /** Redis's command flag: runs while a script is busy. */
  static final String ALLOW_BUSY = "allow_busy";

  private ScriptWait() {}

  /**
   * True when {@code args}, read while a script holds the node (ScriptHost.holdsClients), must wait
   * for it: every command but Redis's allow_busy ones that name no key (WATCH is allow_busy, yet
   * reads its keys' versions, which the script holds). The session parks such a command, off its
   * event loop, and runs it once the script ended or passed its busy threshold. A command that
   * fails its name, subcommand or arity check does not wait: Redis answers those before its busy
   * check. No statistics are taken here (the dispatcher takes them when the command runs).
   */
  static boolean waitsForScript(RespSession s, byte[][] args) {
    if (args.length == 0 || args[0] == null) {
      return true; // a name left in its buffer (RespCommand): no known command is that long
    }
    CommandSpec spec = s.commands().lookup(args[0]);
    if (spec == null || !spec.arityAccepts(args.length)) {
      return false;
    }
    if (spec.subcommands() != null && args.length > 1) {
      if (args[1] == null) {
        return true;
      }
      spec = spec.subcommands().get(Args.lower(args[1]));
      if (spec == null || !spec.arityAccepts(args.length)) {
        return false;
      }
    }
    return !spec.flags().contains(ALLOW_BUSY) || !namesNoKey(spec);
  }

  /** Before {@code spec} runs on {@code s} (CommandTable.dispatch): waits when it names no key. */
  static void beforeCommand(RespSession s, CommandSpec spec) {
    ScriptHost h = s.context().scriptHost();
    if (h == null || !h.running() || s.capturing() || !namesNoKey(spec) || spec.flags().contains(ALLOW_BUSY)) {
      return;
    }
    await(s, h, spec.name().equals("exec"));
  }

  /** Before {@code args} is queued in MULTI: waits unless it is allow_busy (Redis checks before queueing). */
  static void beforeQueued(RespSession s, byte[][] args) {
    ScriptHost h = s.context().scriptHost();
    if (h == null || !h.running()) {
      return;
    }
    CommandTable.Checked checked;
    try {
      checked = s.commands().check(args);
    } catch (CommandException e) {
      return; // queueing answers it with Redis's error, and flags the transaction
    }
    if (!checked.spec().flags().contains(ALLOW_BUSY)) {
      await(s, h, false);
    }
  }

  /**
   * True for a command whose table entry names no key: it takes no key stripe. The shard channel
   * commands (SPUBLISH ...) sit at key positions for routing but take no stripe either.
   */
  static boolean namesNoKey(CommandSpec spec) {
    return spec.firstKey() <= 0 && !CommandKeys.movable(spec) || CommandKeys.CHANNEL_NOT_KEY.contains(spec.name());
  }

  private static void await(RespSession s, ScriptHost h, boolean exec) {
    try {
      h.awaitIdle();
    } catch (ScriptHost.Refused e) {
      TransactionCommands.State t = s.transaction();
      if (exec && t.inMulti) {
        t.discard(); // Redis's rejectCommand for EXEC: the transaction is discarded, the reason given
        throw new CommandException("EXECABORT Transaction discarded because of: " + e.getMessage());
      }
      if (t.inMulti) {
        t.dirty = true; // as Redis's rejectCommand: EXEC answers EXECABORT
      }
      throw new CommandException(e.getMessage());
    }
  }
}
