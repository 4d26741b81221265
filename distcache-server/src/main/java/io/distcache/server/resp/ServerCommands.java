package io.distcache.server.resp;

import static io.distcache.server.resp.Args.is;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.ValueType;
import io.distcache.protocol.Status;
import io.distcache.server.cluster.ClusterWide;
import io.distcache.server.resp.CommandTable.Registry;
import io.distcache.server.store.KeyValue;
import io.distcache.server.store.ScanResult;
import io.distcache.server.store.Store;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/*
 * Design: the keyspace commands (DBSIZE, FLUSHDB, FLUSHALL, SCAN, KEYS, RANDOMKEY) have two
 * meanings, chosen per connection by the redirect rule (ConnectionRouting.perNode()):
 *
 *   cluster connection  this node only, read from the local Store, as Redis Cluster: a cluster
 *                       client sends them to every node itself and combines the answers
 *   plain connection    the whole cluster (ClusterWide): a plain client has no other way to
 *                       reach every node, and FLUSHALL through one node must empty them all
 *
 * A node without a cluster layer (context without ClusterWide) answers for itself.
 */

/** Server commands: COMMAND, CONFIG GET, INFO, DBSIZE, FLUSHDB, FLUSHALL, TIME, SCAN, KEYS, RANDOMKEY. */
final class ServerCommands {
  private ServerCommands() {}

  private static final long DEFAULT_SCAN_COUNT = 10;
  /** Keys per SCAN step when KEYS walks every member. */
  private static final int KEYS_BATCH = 1000;

  static void register(Registry r) {
    r.addContainer("command", -1, "loading stale", "server", ServerCommands::commandAll, List.of(
        Registry.sub("count", 2, "loading stale", "server", (s, a) -> s.out().integer(s.commands().all().size())),
        Registry.sub("info", -2, "loading stale", "server", ServerCommands::commandInfo),
        Registry.sub("docs", -2, "loading stale", "server", ServerCommands::commandDocs),
        Registry.sub("list", -2, "loading stale", "server", ServerCommands::commandList),
        Registry.sub("getkeys", -3, "loading stale", "server", (s, a) -> CommandKeys.getKeys(s, a, false)),
        Registry.sub("getkeysandflags", -3, "loading stale", "server", (s, a) -> CommandKeys.getKeys(s, a, true)),
        Registry.sub("help", 2, "loading stale", "server", ServerCommands::commandHelp)));
    r.addContainer("config", -2, "", "server", null, List.of(
        Registry.sub("get", -3, "admin noscript loading stale", "server", ServerCommands::configGet),
        Registry.sub("set", -4, "admin noscript loading stale", "server", ServerCommands::configSet),
        Registry.sub("resetstat", 2, "admin noscript loading stale", "server", (s, a) -> {
          s.context().resetStats();
          s.out().ok();
        }),
        Registry.sub("help", 2, "loading stale", "server", (s, a) -> ConnectionCommands.helpReply(s, "CONFIG",
            List.of("GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>", "    Set the configuration <directive> to <value> (slowlog-log-slower-than,"
                    + " slowlog-max-len, latency-monitor-threshold; the rest is set at startup).",
                "RESETSTAT", "    Reset statistics reported by the INFO command.",
                "HELP", "    Print this help.")))));
    r.add("info", -1, "loading stale", "server", (s, a) -> s.out().verbatim(InfoReport.build(s, a)));
    r.add("dbsize", 1, "readonly fast", "server", ServerCommands::dbsize);
    r.add("flushdb", -1, "write", "server", ServerCommands::flush);
    r.add("flushall", -1, "write", "server", ServerCommands::flush);
    r.add("time", 1, "loading stale fast", "server", ServerCommands::time);
    r.add("scan", -2, "readonly", "keyspace", ServerCommands::scan);
    r.add("keys", 2, "readonly", "keyspace", ServerCommands::keys);
    r.add("randomkey", 1, "readonly", "keyspace", ServerCommands::randomKey);
    r.add("shutdown", -1, "admin noscript loading stale allow_busy", "server", ServerCommands::shutdown);
  }

  // ---- SHUTDOWN ----

  /**
   * SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: the graceful stop SIGTERM makes (hand-off to the
   * replicas, leave, drain). As in Redis, success has no reply: the connection closes when the node
   * has stopped. This node keeps nothing on disk, so SAVE cannot be honoured and is refused unless
   * FORCE says to stop anyway; NOW skips waiting for the replicas to catch up (sync replication
   * acknowledged nothing they lack; async may lose its lag). A stop once begun cannot be aborted.
   */
  private static void shutdown(RespSession s, byte[][] a) {
    boolean save = false;
    boolean noSave = false;
    boolean now = false;
    boolean force = false;
    boolean abort = false;
    for (int i = 1; i < a.length; i++) {
      if (is(a[i], "nosave")) {
        noSave = true;
      } else if (is(a[i], "save")) {
        save = true;
      } else if (is(a[i], "now")) {
        now = true;
      } else if (is(a[i], "force")) {
        force = true;
      } else if (is(a[i], "abort")) {
        abort = true;
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    if ((save && noSave) || (abort && a.length > 2)) {
      throw new CommandException(RespErrors.SYNTAX);
    }
    if (s.capturing()) {
      throw new CommandException("ERR SHUTDOWN inside MULTI is not supported by distcache: send it alone");
    }
    RespContext.Shutdown stop = s.context().shutdown();
    if (abort) {
      throw new CommandException(stop != null && stop.underWay() ? "ERR the shutdown has begun and cannot be aborted"
          : "ERR No shutdown in progress.");
    }
    if (save && !force) {
      throw new CommandException("ERR this node keeps nothing on disk, so SHUTDOWN SAVE cannot save: use SHUTDOWN"
          + " (its slots go to their replicas) or SHUTDOWN NOSAVE");
    }
    if (stop == null) {
      throw new CommandException("ERR SHUTDOWN is not available here: this server has no node to stop");
    }
    if (!stop.begin(now)) {
      throw new CommandException("ERR the node is already shutting down");
    }
    s.await(new CompletableFuture<>(), (r, w) -> { }); // closed by the stop, unanswered
  }

  // ---- COMMAND ----

  /** COMMAND with no subcommand: every command. */
  private static void commandAll(RespSession s, byte[][] a) {
    RespWriter w = s.out();
    w.array(s.commands().all().size());
    for (CommandSpec spec : s.commands().all()) {
      writeInfo(w, spec, null);
    }
  }

  private static void commandInfo(RespSession s, byte[][] a) {
    RespWriter w = s.out();
    if (a.length == 2) {
      commandAll(s, a);
      return;
    }
    w.array(a.length - 2);
    for (int i = 2; i < a.length; i++) {
      CommandSpec spec = s.commands().find(Args.lower(a[i]));
      if (spec == null) {
        w.nil();
      } else {
        writeInfo(w, spec, null);
      }
    }
  }

  private static void writeInfo(RespWriter w, CommandSpec spec, String parent) {
    w.array(10);
    w.bulk(spec.fullName(parent));
    w.integer(spec.arity());
    w.set(spec.flags().size());
    for (String f : spec.flags()) {
      w.simple(f);
    }
    w.integer(spec.firstKey());
    w.integer(spec.lastKey());
    w.integer(spec.step());
    List<String> acl = aclCategories(spec);
    w.set(acl.size());
    for (String c : acl) {
      w.simple(c);
    }
    w.array(0);
    w.array(0);
    if (spec.subcommands() == null) {
      w.array(0);
    } else {
      w.array(spec.subcommands().size());
      for (CommandSpec sub : spec.subcommands().values()) {
        writeInfo(w, sub, spec.name());
      }
    }
  }

  private static List<String> aclCategories(CommandSpec spec) {
    List<String> out = new ArrayList<>();
    out.add("@" + spec.group());
    if (spec.flags().contains("write")) {
      out.add("@write");
    }
    if (spec.flags().contains("readonly")) {
      out.add("@read");
    }
    if (spec.flags().contains("fast")) {
      out.add("@fast");
    } else {
      out.add("@slow");
    }
    if (spec.flags().contains("admin")) {
      out.add("@admin");
      out.add("@dangerous");
    }
    if (spec.flags().contains("blocking")) {
      out.add("@blocking"); // as ACL CAT lists them (TableCatalog)
    }
    return out;
  }

  private static void commandDocs(RespSession s, byte[][] a) {
    List<CommandSpec> specs = new ArrayList<>();
    if (a.length == 2) {
      specs.addAll(s.commands().all());
    } else {
      for (int i = 2; i < a.length; i++) {
        CommandSpec spec = s.commands().find(Args.lower(a[i]));
        if (spec != null) {
          specs.add(spec);
        }
      }
    }
    RespWriter w = s.out();
    w.map(specs.size());
    for (CommandSpec spec : specs) {
      w.bulk(spec.name());
      w.map(3);
      w.bulk("summary");
      w.bulk("");
      w.bulk("since");
      w.bulk("1.0.0");
      w.bulk("group");
      w.bulk(spec.group());
    }
  }

  private static void commandList(RespSession s, byte[][] a) {
    byte[] pattern = null;
    if (a.length > 2) {
      if (a.length == 5 && is(a[2], "filterby") && is(a[3], "pattern")) {
        pattern = a[4];
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    List<String> names = new ArrayList<>();
    for (CommandSpec spec : s.commands().all()) {
      if (pattern == null || GlobMatcher.matches(pattern, Args.utf8(spec.name()))) {
        names.add(spec.name());
      }
    }
    RespWriter w = s.out();
    w.array(names.size());
    for (String n : names) {
      w.bulk(n);
    }
  }

  private static void commandHelp(RespSession s, byte[][] a) {
    ConnectionCommands.helpReply(s, "COMMAND", List.of(
        "(no subcommand)", "    Return details about all commands.",
        "COUNT", "    Return the total number of commands in this server.",
        "LIST [FILTERBY PATTERN <pattern>]", "    Return a list of all commands in this server.",
        "INFO [<command-name> ...]", "    Return details about multiple commands.",
        "DOCS [<command-name> ...]", "    Return documentation details about multiple commands.",
        "GETKEYS <full-command>", "    Return the keys from a full command.",
        "GETKEYSANDFLAGS <full-command>", "    Return the keys and the access flags from a full command.",
        "HELP", "    Print this help."));
  }

  // ---- CONFIG, FLUSH, TIME ----

  private static void configGet(RespSession s, byte[][] a) {
    List<byte[]> patterns = new ArrayList<>();
    for (int i = 2; i < a.length; i++) {
      patterns.add(Args.utf8(Args.lower(a[i])));
    }
    Map<String, String> found = ConfigParameters.get(s.context(), patterns);
    RespWriter w = s.out();
    w.map(found.size());
    for (Map.Entry<String, String> e : found.entrySet()) {
      w.bulk(e.getKey());
      w.bulk(e.getValue());
    }
  }

  /** CONFIG SET: the run-time parameters (ConfigParameters); the rest is refused naming the flag. */
  private static void configSet(RespSession s, byte[][] a) {
    if (a.length % 2 != 0) {
      throw new CommandException(RespErrors.wrongArity("config|set"));
    }
    ConfigParameters.set(s.context(), a);
    s.out().ok();
  }

  /**
   * The cluster-wide keyspace commands for this connection, or null when they answer for this node:
   * a cluster connection, or a node that is the whole cluster (one owner or none yet). Not a node
   * that has just left a two-member cluster: its placement holds the other member alone, and its
   * store (until it stops) keys that are that member's now.
   */
  private static ClusterWide wide(RespSession s) {
    ClusterWide wide = s.context().clusterWide();
    if (wide == null || inScript(s) || s.routing().perNode()) {
      return null;
    }
    // A node that owns every slot answers from its own store, unless requests it forwarded (or
    // holds) for a member that was there are still in flight: then through ClusterWide, whose
    // FLUSHALL waits for them (they outlived an acknowledged FLUSHALL).
    if (s.context().cluster().placement().isAlone(s.context().cluster().self()) && !wide.forwardsInFlight()) {
      return null;
    }
    return wide;
  }

  /**
   * True when this node's store also holds replicas' copies of other owners' slots: its per-node
   * keyspace commands then go through the router, which answers for this node's own slots only.
   */
  private static boolean copiesHere(RespSession s) {
    return s.context().cluster() != null && !inScript(s) && s.context().cluster().placement().replicasPerSlot() > 0;
  }

  /**
   * A script's call (a session without a connection, hence without routing): it answers from this
   * node's store, which the script holds whole; waiting for the router or other members from the
   * script lane could only end BUSY.
   */
  private static boolean inScript(RespSession s) {
    return s.routing() == null;
  }

  /** Keys this node answers for per node: with replicas' copies here, only those of its own slots. */
  private static java.util.function.Predicate<byte[]> ownSlots(RespSession s) {
    if (!copiesHere(s)) {
      return k -> true;
    }
    io.distcache.protocol.cluster.Placement p = s.context().cluster().placement();
    io.distcache.protocol.cluster.Member me = s.context().cluster().self();
    return k -> p.owns(me, io.distcache.protocol.cluster.KeySlot.of(k));
  }

  /** A node-local opcode through the router (see copiesHere). */
  private static CompletableFuture<Frame> own(RespSession s, Opcode op, long... extras) {
    return s.inOrder(() -> s.context().router().route(Frame.request(op, 0, null, null, extras)));
  }

  private static void dbsize(RespSession s, byte[][] a) {
    ClusterWide wide = wide(s);
    if (wide == null && copiesHere(s)) {
      s.await(own(s, Opcode.SIZE), (r, w) -> {
        if (!StringCommands.failed(r, w)) {
          w.integer(r.extra(0, 0));
        }
      });
    } else if (wide == null) {
      s.out().integer(wholeStore(s, () -> s.context().store().size()));
    } else {
      s.await(s.inOrder(wide::size), (r, w) -> {
        if (!StringCommands.failed(r, w)) {
          w.integer(r.extra(0, 0));
        }
      });
    }
  }

  private static void randomKey(RespSession s, byte[][] a) {
    ClusterWide wide = wide(s);
    if (wide == null && copiesHere(s)) {
      s.await(own(s, Opcode.RANDOM_KEY), StringCommands::valueOrNull);
    } else if (wide == null) {
      s.out().bulkOrNull(wholeStore(s, () -> s.context().store().randomKey()));
    } else {
      s.await(s.inOrder(wide::randomKey), StringCommands::valueOrNull);
    }
  }

  private static void flush(RespSession s, byte[][] a) {
    if (a.length > 2 || (a.length == 2 && !is(a[1], "async") && !is(a[1], "sync"))) {
      throw new CommandException(RespErrors.SYNTAX);
    }
    ClusterWide wide = wide(s);
    // This node only, through the router when it holds copies or has forwards in flight: its FLUSH
    // waits for them there (ClusterRouter.routeOnce), as a cluster-wide one does.
    ClusterWide cluster = s.context().clusterWide();
    if (wide == null && (copiesHere(s) || cluster != null && !inScript(s) && cluster.forwardsInFlight())) {
      s.await(own(s, Opcode.FLUSH), (r, w) -> {
        if (!StringCommands.failed(r, w)) {
          w.ok();
        }
      });
    } else if (wide == null) {
      wholeStore(s, () -> {
        s.context().store().flush();
        return null;
      });
      s.out().ok();
    } else {
      s.await(s.inOrder(wide::flush), (r, w) -> {
        if (!StringCommands.failed(r, w)) {
          w.ok();
        }
      });
    }
  }

  private static void time(RespSession s, byte[][] a) {
    long us = s.context().clock().micros();
    RespWriter w = s.out();
    w.array(2);
    w.bulk(Long.toString(us / 1_000_000));
    w.bulk(Long.toString(us % 1_000_000));
  }

  // ---- SCAN, KEYS ----

  private static void scan(RespSession s, byte[][] a) {
    long cursor = Args.parseCursor(a[1]);
    byte[] pattern = null;
    long count = DEFAULT_SCAN_COUNT;
    long typeFilter = 0; // 0: any type, else the ValueType code + 1
    for (int i = 2; i < a.length; i++) {
      boolean hasNext = i + 1 < a.length;
      if (is(a[i], "match") && hasNext) {
        pattern = a[++i];
      } else if (is(a[i], "count") && hasNext) {
        count = Args.parseLong(a[++i]);
        if (count < 1) {
          throw new CommandException(RespErrors.SYNTAX);
        }
        count = Math.min(count, ProtocolConstants.MAX_SCAN_COUNT); // a hint: one step's reply stays bounded
      } else if (is(a[i], "type") && hasNext) {
        ValueType type = ValueType.fromRedisName(Args.latin1(a[++i]));
        // Redis knows more types (list, stream): none of our keys has one, so they match nothing.
        typeFilter = type == null ? -1 : type.code() + 1;
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    if (cursor < 0) {
      // Redis takes any unsigned 64-bit cursor; the store's cursors stay below 2^63, so this one is past the end.
      RespWriter w = s.out();
      w.array(2);
      w.bulk("0");
      w.array(0);
      return;
    }
    ClusterWide wide = wide(s);
    if (wide != null) {
      byte[] match = pattern;
      boolean any = typeFilter >= 0;
      int hint = (int) Math.min(count, Integer.MAX_VALUE);
      long from = cursor;
      long types = Math.max(0, typeFilter);
      s.await(s.inOrder(() -> wide.scan(from, hint, types)), (r, w) -> {
        if (!StringCommands.failed(r, w)) {
          writeScan(w, r.extra(0, 0), ListCodec.decodeKeys(r.value()), match, any);
        }
      });
      return;
    }
    if (copiesHere(s)) {
      byte[] match = pattern;
      long filter = typeFilter;
      s.await(own(s, Opcode.SCAN, cursor, Math.min(count, Integer.MAX_VALUE)), (r, w) -> {
        if (!StringCommands.failed(r, w)) {
          List<byte[]> found = ListCodec.decodeKeys(r.value());
          if (filter > 0) { // the node's own slots are in its store: filter by type here
            found = new ArrayList<>(found);
            ValueType wanted = ValueType.fromCode(filter - 1);
            found.removeIf(k -> s.context().store().typeOf(k) != wanted);
          }
          writeScan(w, r.extra(0, 0), found, match, filter >= 0);
        }
      });
      return;
    }
    int hint = (int) Math.min(count, Integer.MAX_VALUE);
    long types = typeFilter;
    ScanResult step = wholeStore(s, () -> {
      ScanResult page = s.context().store().scan(cursor, hint);
      if (types <= 0) {
        return page;
      }
      List<byte[]> typed = new ArrayList<>(page.keys());
      ValueType wanted = ValueType.fromCode(types - 1);
      typed.removeIf(k -> s.context().store().typeOf(k) != wanted);
      return new ScanResult(page.nextCursor(), typed);
    });
    List<byte[]> found = step.keys();
    writeScan(s.out(), step.nextCursor(), found, pattern, typeFilter >= 0);
  }

  private static void writeScan(RespWriter w, long next, List<byte[]> found, byte[] pattern, boolean stringsWanted) {
    List<byte[]> keys = new ArrayList<>();
    if (stringsWanted) {
      for (byte[] k : found) {
        if (pattern == null || GlobMatcher.matches(pattern, k)) {
          keys.add(k);
        }
      }
    }
    w.array(2);
    w.bulk(Long.toUnsignedString(next));
    w.array(keys.size());
    for (byte[] k : keys) {
      w.bulk(k);
    }
  }

  private static void keys(RespSession s, byte[][] a) {
    byte[] pattern = a[1];
    ClusterWide wide = wide(s);
    if (wide != null) {
      if (GlobMatcher.isLiteral(pattern)) {
        // One key: ask its owner, as any keyed command does.
        s.route(Frame.request(Opcode.EXISTS, Args.key(pattern)), (r, w) -> {
          if (!StringCommands.failed(r, w)) {
            writeKeys(w, r.status() == Status.OK ? List.of(pattern) : List.of());
          }
        });
      } else {
        s.await(s.inOrder(() -> wide.keys(k -> GlobMatcher.matches(pattern, k), KEYS_BATCH,
            s.context().limits().maxRequestBytes())), (r, w) -> {
          if (!StringCommands.failed(r, w)) {
            writeKeys(w, ListCodec.decodeKeys(r.value()));
          }
        });
      }
      return;
    }
    Store store = s.context().store();
    java.util.function.Predicate<byte[]> own = ownSlots(s);
    // The matched keys are held on the heap until the reply is written: bounded like the
    // cluster-wide walk's (the frame limit), counting each key's array header too, so a million
    // tiny keys are not free.
    long max = s.context().limits().maxRequestBytes();
    List<byte[]> keys = wholeStore(s, () -> {
      List<byte[]> matched = new ArrayList<>();
      if (GlobMatcher.isLiteral(pattern)) {
        if (store.exists(pattern) && own.test(pattern)) {
          matched.add(pattern);
        }
      } else {
        long held = 0;
        Iterator<KeyValue> it = store.iterator();
        while (it.hasNext()) {
          byte[] k = it.next().key();
          if (GlobMatcher.matches(pattern, k) && own.test(k)) {
            held += k.length + RespDecoder.ARG_OVERHEAD;
            if (held > max) {
              throw new CommandException("ERR KEYS matched more than " + max + " bytes of keys, the limit; use SCAN");
            }
            matched.add(k);
          }
        }
      }
      return matched;
    });
    writeKeys(s.out(), keys);
  }

  /**
   * {@code work} on the local store as a whole (no stripe names it): never between a script's calls,
   * and Redis's BUSY once the running script passed its busy threshold (ScriptHost.withKeyspace).
   */
  static <T> T wholeStore(RespSession s, java.util.function.Supplier<T> work) {
    io.distcache.server.cluster.ScriptHost h = s.context().scriptHost();
    if (h == null) {
      return work.get();
    }
    try {
      return h.withKeyspace(work);
    } catch (io.distcache.server.cluster.ScriptHost.Refused e) {
      throw new CommandException(e.getMessage());
    }
  }

  private static void writeKeys(RespWriter w, List<byte[]> keys) {
    w.array(keys.size());
    for (byte[] k : keys) {
      w.bulk(k);
    }
  }
}
