package io.distcache.server.security;

import java.util.Collection;

/**
 * The commands ACL rules can name, as the node's command table knows them: full names are
 * lower case, a subcommand is {@code parent|sub}. Implemented by the Redis protocol's table.
 */
public interface AclCatalog {
  /** Every command and subcommand full name. */
  Collection<String> allCommands();

  /** True when {@code fullName} is a command or subcommand. */
  boolean knows(String fullName);

  /** The subcommands' full names of a container command; empty for others. */
  Collection<String> subcommandsOf(String command);

  /** Every category name (without the @), Redis's list. */
  Collection<String> categories();

  /** The full names in {@code category} (without the @); null when the category is unknown. */
  Collection<String> commandsIn(String category);
}
