package io.distcache.server.resp;

import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/*
 * Design: one immutable table, built once per node and shared by every connection. Requests look
 * their command up by the name's bytes in a CommandIndex (no String per request); COMMAND INFO and
 * friends use the lower-cased name. Name, arity and subcommand checks happen here, before any command code
 * runs, so every command gets Redis's exact "unknown command" and "wrong number of arguments"
 * errors for free and COMMAND INFO describes exactly what is dispatched.
 */

/** The Redis commands the node understands. */
final class CommandTable {
  private final Map<String, CommandSpec> byName;
  private final CommandIndex<CommandSpec> index;

  private CommandTable(Map<String, CommandSpec> byName) {
    this.byName = Collections.unmodifiableMap(byName);
    this.index = new CommandIndex<>(byName);
  }

  /** Every command distcache supports. */
  static CommandTable standard() {
    Registry r = new Registry();
    ConnectionCommands.register(r);
    ServerCommands.register(r);
    StringCommands.register(r);
    KeyCommands.register(r);
    ClusterCommands.register(r);
    DiagnosticCommands.register(r);
    TransactionCommands.register(r);
    BitCommands.register(r);
    KeyCopyCommands.register(r);
    AclCommands.register(r);
    HashCommands.register(r);
    HashExpiryCommands.register(r);
    SetCommands.register(r);
    ZSetCommands.register(r);
    ZSetAlgebraCommands.register(r);
    ZSetBlockingCommands.register(r);
    PubSubCommands.register(r);
    ScriptCommands.register(r);
    FunctionCommands.register(r);
    return new CommandTable(r.commands);
  }

  CommandSpec find(String lowerName) {
    return byName.get(lowerName);
  }

  Collection<CommandSpec> all() {
    return byName.values();
  }

  /** The statistics of every command and subcommand, in table order. */
  List<CommandStats> stats() {
    List<CommandStats> out = new java.util.ArrayList<>();
    for (CommandSpec spec : byName.values()) {
      if (spec.handler() != null) {
        out.add(spec.stats());
      }
      if (spec.subcommands() != null) {
        for (CommandSpec sub : spec.subcommands().values()) {
          out.add(sub.stats());
        }
      }
    }
    return out;
  }

  void dispatch(RespSession s, byte[][] args) {
    Checked checked = check(args);
    AclCheck.check(s, checked.top(), checked.spec(), checked.fullName(), args);
    PubSubCommands.checkSubscribedMode(s, checked.top().name(), checked.fullName());
    ScriptWait.beforeCommand(s, checked.spec());
    s.context().stats().commandProcessed();
    s.client().lastCommand = checked.fullName();
    s.executing(checked.spec());
    s.beforeCommand(checked.spec(), args);
    checked.spec().handler().handle(s, args);
  }

  /** The command's top-level spec by name, or null when unknown; no arity check. */
  CommandSpec lookup(byte[] name) {
    return index.get(name);
  }

  /**
   * The spec {@code args} would run (the subcommand's for a container) with its full name, after
   * the name, arity and subcommand checks; throws CommandException with Redis's error otherwise.
   */
  Checked check(byte[][] args) {
    CommandSpec spec = index.get(args[0]);
    if (spec == null) {
      throw new CommandException(RespErrors.unknownCommand(args));
    }
    if (!spec.arityAccepts(args.length)) {
      spec.stats().rejected();
      throw new CommandException(RespErrors.wrongArity(spec.name()));
    }
    String fullName = spec.name();
    CommandSpec top = spec;
    if (spec.subcommands() != null && args.length > 1) {
      CommandSpec sub = spec.subcommands().get(Args.lower(args[1]));
      if (sub == null) {
        throw new CommandException(RespErrors.unknownSubcommand(args[1], spec.name()));
      }
      fullName = sub.fullName(spec.name());
      if (!sub.arityAccepts(args.length)) {
        sub.stats().rejected();
        throw new CommandException(RespErrors.wrongArity(fullName));
      }
      spec = sub;
    }
    return new Checked(top, spec, fullName);
  }

  /**
   * What {@link #check} found: the command's top-level spec (what ACL categories and no-auth flags
   * are read from), the spec to run (the subcommand's for a container) and Redis's name for it
   * ("client|setname").
   */
  record Checked(CommandSpec top, CommandSpec spec, String fullName) {}

  /** Collects commands at startup. */
  static final class Registry {
    private final Map<String, CommandSpec> commands = new LinkedHashMap<>();

    /** A keyless command. */
    void add(String name, int arity, String flags, String group, CommandSpec.Handler handler) {
      add(name, arity, flags, 0, 0, 0, group, handler);
    }

    void add(String name, int arity, String flags, int firstKey, int lastKey, int step, String group,
        CommandSpec.Handler handler) {
      put(new CommandSpec(name, arity, flags(flags), firstKey, lastKey, step, group, handler, null));
    }

    /**
     * A command with subcommands (CLIENT, CONFIG, COMMAND); each subcommand has its own arity.
     * {@code bare} runs the command without a subcommand (COMMAND), or is null.
     */
    void addContainer(String name, int arity, String flags, String group, CommandSpec.Handler bare,
        List<CommandSpec> subs) {
      Map<String, CommandSpec> byName = new LinkedHashMap<>();
      for (CommandSpec sub : subs) {
        // Statistics name a subcommand as Redis does: "client|list".
        byName.put(sub.name(), new CommandSpec(sub.name(), sub.arity(), sub.flags(), sub.firstKey(), sub.lastKey(),
            sub.step(), sub.group(), sub.handler(), sub.subcommands(), new CommandStats(sub.fullName(name))));
      }
      put(new CommandSpec(name, arity, flags(flags), 0, 0, 0, group, bare, Collections.unmodifiableMap(byName)));
    }

    static CommandSpec sub(String name, int arity, String flags, String group, CommandSpec.Handler handler) {
      return new CommandSpec(name, arity, flags(flags), 0, 0, 0, group, handler, null);
    }

    private void put(CommandSpec spec) {
      if (commands.put(spec.name(), spec) != null) {
        throw new IllegalStateException("command registered twice: " + spec.name());
      }
    }

    private static List<String> flags(String flags) {
      return flags.isEmpty() ? List.of() : List.copyOf(Arrays.asList(flags.split(" ")));
    }
  }
}
