package io.distcache.server.resp;

import io.distcache.server.security.AclCatalog;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/*
 * Design: ACL categories are derived from what the command table already says, as Redis derives
 * most of its own: "write" and "readonly" flags give @write and @read, "fast" gives @fast and its
 * absence @slow, "admin" gives @admin and @dangerous, and the group names the data type
 * (string, keyspace, connection, hash, set, ...: a group that is a Redis category is that
 * category). A few commands Redis marks @dangerous without an admin flag are listed here (FLUSHALL,
 * FLUSHDB, KEYS, INFO, CLIENT LIST, CONFIG ...). Commands added later by other modules get their
 * categories the same way, with no list to keep.
 */

/** The command table as ACL rules see it: full names, subcommands and categories. */
final class TableCatalog implements AclCatalog {
  /** Redis's categories (ACL CAT), in its order. */
  static final List<String> CATEGORIES = List.of("keyspace", "read", "write", "set", "sortedset", "list", "hash",
      "string", "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
      "connection", "transaction", "scripting");

  private static final Set<String> DANGEROUS = Set.of("flushall", "flushdb", "keys", "info", "client|list",
      "config|get", "config|set", "acl|setuser", "acl|deluser", "acl|load", "acl|save", "acl|log", "acl|list",
      "acl|getuser", "acl|users", "cluster|getkeysinslot");
  private static final Set<String> KEYSPACE = Set.of("dbsize", "flushall", "flushdb", "scan", "keys", "randomkey");

  private final Map<String, Set<String>> byCategory = new LinkedHashMap<>();
  private final Map<String, List<String>> subcommands = new LinkedHashMap<>();
  private final Set<String> all = new LinkedHashSet<>();

  TableCatalog(CommandTable table) {
    for (String c : CATEGORIES) {
      byCategory.put(c, new LinkedHashSet<>());
    }
    for (CommandSpec spec : table.all()) {
      all.add(spec.name());
      List<String> subs = new ArrayList<>();
      if (spec.subcommands() != null) {
        for (CommandSpec sub : spec.subcommands().values()) {
          String full = sub.fullName(spec.name());
          subs.add(full);
          all.add(full);
          for (String c : categoriesOf(sub, full)) {
            byCategory.get(c).add(full);
          }
        }
      }
      subcommands.put(spec.name(), subs);
      // A container is in the categories of its subcommands ("+@admin" must allow CONFIG's
      // admin subcommands, which are reached through "config").
      for (String c : categoriesOf(spec, spec.name())) {
        byCategory.get(c).add(spec.name());
      }
    }
  }

  /** The categories of one command or subcommand, without @. */
  static Set<String> categoriesOf(CommandSpec spec, String fullName) {
    Set<String> out = new LinkedHashSet<>();
    List<String> flags = spec.flags();
    if (flags.contains("write")) {
      out.add("write");
    }
    if (flags.contains("readonly")) {
      out.add("read");
    }
    if (flags.contains("admin")) {
      out.add("admin");
      out.add("dangerous");
    }
    out.add(flags.contains("fast") ? "fast" : "slow");
    if (flags.contains("blocking")) {
      out.add("blocking");
    }
    if (DANGEROUS.contains(fullName)) {
      out.add("dangerous");
    }
    if (KEYSPACE.contains(fullName)) {
      out.add("keyspace");
    }
    if (spec.group() != null && CATEGORIES.contains(spec.group())) {
      out.add(spec.group());
    }
    return out;
  }

  @Override
  public Collection<String> allCommands() {
    return all;
  }

  @Override
  public boolean knows(String fullName) {
    return all.contains(fullName);
  }

  @Override
  public Collection<String> subcommandsOf(String command) {
    return subcommands.getOrDefault(command, List.of());
  }

  @Override
  public Collection<String> categories() {
    return CATEGORIES;
  }

  @Override
  public Collection<String> commandsIn(String category) {
    return byCategory.get(category);
  }
}
