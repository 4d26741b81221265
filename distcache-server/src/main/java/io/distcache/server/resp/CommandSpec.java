package io.distcache.server.resp;

import java.util.List;
import java.util.Map;

/**
 * One Redis command: how it is called (arity as Redis counts it: positive exact, negative minimum,
 * both including the name), what COMMAND INFO says about it, and the code that runs it.
 */
record CommandSpec(
    String name,
    int arity,
    List<String> flags,
    int firstKey,
    int lastKey,
    int step,
    String group,
    Handler handler,
    Map<String, CommandSpec> subcommands,
    CommandStats stats) {

  /** A command with fresh statistics, named {@code name} in them (a subcommand's are renamed by its container). */
  CommandSpec(String name, int arity, List<String> flags, int firstKey, int lastKey, int step, String group,
      Handler handler, Map<String, CommandSpec> subcommands) {
    this(name, arity, flags, firstKey, lastKey, step, group, handler, subcommands, new CommandStats(name));
  }

  /** Runs a command whose name and arity were checked. */
  @FunctionalInterface
  interface Handler {
    void handle(RespSession s, byte[][] args);
  }

  boolean arityAccepts(int argc) {
    return arity > 0 ? argc == arity : argc >= -arity;
  }

  /** Redis's name in errors and COMMAND output: "get", "client|setname". */
  String fullName(String parent) {
    return parent == null ? name : parent + "|" + name;
  }
}
