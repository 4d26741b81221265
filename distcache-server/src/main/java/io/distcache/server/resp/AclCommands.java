package io.distcache.server.resp;

import io.distcache.server.resp.CommandTable.Registry;
import io.distcache.server.security.AclException;
import io.distcache.server.security.AclLog;
import io.distcache.server.security.User;
import io.distcache.server.security.Users;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/** ACL SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, LOAD, SAVE, LOG, HELP, with Redis's replies. */
final class AclCommands {
  private static final String NO_ACLFILE = "ERR This Redis instance is not configured to use an ACL file. You may want"
      + " to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis"
      + " configuration file set) in order to store users in the Redis configuration.";

  private AclCommands() {}

  static void register(Registry r) {
    r.addContainer("acl", -2, "", "server", null, List.of(
        Registry.sub("setuser", -3, "admin noscript loading stale", "server", AclCommands::setuser),
        Registry.sub("getuser", 3, "admin noscript loading stale", "server", AclCommands::getuser),
        Registry.sub("deluser", -3, "admin noscript loading stale", "server", AclCommands::deluser),
        Registry.sub("list", 2, "admin noscript loading stale", "server", AclCommands::list),
        Registry.sub("users", 2, "admin noscript loading stale", "server", AclCommands::users),
        Registry.sub("whoami", 2, "noscript loading stale", "server", (s, a) -> s.out().bulk(s.client().user)),
        Registry.sub("cat", -2, "noscript loading stale", "server", AclCommands::cat),
        Registry.sub("load", 2, "admin noscript loading stale", "server", AclCommands::load),
        Registry.sub("save", 2, "admin noscript loading stale", "server", AclCommands::save),
        Registry.sub("log", -2, "admin noscript loading stale", "server", AclCommands::log),
        Registry.sub("help", 2, "loading stale", "server", AclCommands::help)));
  }

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private static void setuser(RespSession s, byte[][] a) {
    String name = text(a[2]);
    List<String> rules = new ArrayList<>();
    for (int i = 3; i < a.length; i++) {
      rules.add(text(a[i]));
    }
    try {
      s.context().users().setUser(name, rules);
    } catch (AclException e) {
      throw new CommandException("ERR Error in ACL SETUSER modifier '" + e.rule() + "': " + e.getMessage());
    }
    s.out().ok();
  }

  private static void getuser(RespSession s, byte[][] a) {
    User u = s.context().users().get(text(a[2]));
    RespWriter w = s.out();
    if (u == null) {
      w.bulkOrNull(null);
      return;
    }
    w.map(6);
    w.bulk("flags");
    w.array(u.flags().size());
    for (String f : u.flags()) {
      w.bulk(f);
    }
    w.bulk("passwords");
    w.array(u.passwordHashes().size());
    for (String p : u.passwordHashes()) {
      w.bulk(p);
    }
    w.bulk("commands");
    w.bulk(u.commandsDescription());
    w.bulk("keys");
    w.bulk(u.keysDescription());
    w.bulk("channels");
    w.bulk(u.channelsDescription());
    w.bulk("selectors");
    w.array(0);
  }

  private static void deluser(RespSession s, byte[][] a) {
    List<String> names = new ArrayList<>();
    for (int i = 2; i < a.length; i++) {
      names.add(text(a[i]));
    }
    int removed;
    try {
      removed = s.context().users().delete(names);
    } catch (AclException e) {
      throw new CommandException("ERR " + e.getMessage());
    }
    closeClientsOfRemovedUsers(s);
    s.out().integer(removed);
  }

  /**
   * Closes the Redis connections whose user no longer exists (ACL DELUSER, ACL LOAD), as Redis 7
   * does: at once, without answering anything more, so an idle one (a subscriber) does not stay
   * open as a user that is gone; the caller, if its own user went, after this reply. A command
   * racing with the close on its own event loop still meets the check made before every command,
   * which answers -NOAUTH and closes. Binary-protocol connections are not closed: the check before
   * each of their requests answers AUTH_REQUIRED.
   */
  private static void closeClientsOfRemovedUsers(RespSession s) {
    Users users = s.context().users();
    for (ClientState c : s.context().stats().clients()) {
      if (users.get(c.user) == null) {
        ClientKill.close(s, c);
      }
    }
  }

  private static void list(RespSession s, byte[][] a) {
    List<String> lines = s.context().users().describeAll();
    RespWriter w = s.out();
    w.array(lines.size());
    for (String l : lines) {
      w.bulk(l);
    }
  }

  private static void users(RespSession s, byte[][] a) {
    List<User> all = s.context().users().all();
    RespWriter w = s.out();
    w.array(all.size());
    for (User u : all) {
      w.bulk(u.name());
    }
  }

  private static void cat(RespSession s, byte[][] a) {
    if (a.length > 3) {
      throw new CommandException(RespErrors.wrongArity("acl|cat"));
    }
    Users users = s.context().users();
    Collection<String> out;
    if (a.length == 2) {
      out = users.catalog().categories();
    } else {
      String category = text(a[2]).toLowerCase(Locale.ROOT);
      out = users.catalog().commandsIn(category);
      if (out == null) {
        throw new CommandException("ERR Unknown category '" + text(a[2]) + "'");
      }
    }
    RespWriter w = s.out();
    w.array(out.size());
    for (String c : out) {
      w.bulk(c);
    }
  }

  private static void load(RespSession s, byte[][] a) {
    Users users = s.context().users();
    if (!users.hasAclFile()) {
      throw new CommandException(NO_ACLFILE);
    }
    try {
      users.load();
    } catch (AclException e) {
      throw new CommandException("ERR " + e.getMessage());
    }
    closeClientsOfRemovedUsers(s);
    s.out().ok();
  }

  private static void save(RespSession s, byte[][] a) {
    Users users = s.context().users();
    if (!users.hasAclFile()) {
      throw new CommandException(NO_ACLFILE);
    }
    try {
      users.save();
    } catch (java.io.UncheckedIOException e) {
      throw new CommandException("ERR There was an error trying to save the ACLs. Please check the server logs for more information");
    }
    s.out().ok();
  }

  private static void log(RespSession s, byte[][] a) {
    AclLog log = s.context().users().log();
    if (a.length > 3) {
      throw new CommandException(RespErrors.wrongArity("acl|log"));
    }
    int count = 10;
    if (a.length == 3) {
      if (Args.is(a[2], "reset")) {
        log.reset();
        s.out().ok();
        return;
      }
      long n = Args.parseLong(a[2], "ERR value is out of range, must be positive");
      if (n < 0) {
        throw new CommandException("ERR value is out of range, must be positive");
      }
      count = (int) Math.min(n, AclLog.MAX_ENTRIES);
    }
    List<AclLog.Entry> entries = log.newest(count);
    long now = log.nowMillis();
    RespWriter w = s.out();
    w.array(entries.size());
    for (AclLog.Entry e : entries) {
      w.map(10);
      w.bulk("count");
      w.integer(e.count);
      w.bulk("reason");
      w.bulk(e.reason);
      w.bulk("context");
      w.bulk(e.context);
      w.bulk("object");
      w.bulk(e.object);
      w.bulk("username");
      w.bulk(e.username);
      w.bulk("age-seconds");
      w.bulk(String.format(Locale.ROOT, "%.3f", (now - e.createdMillis) / 1000.0));
      w.bulk("client-info");
      w.bulk(e.clientInfo);
      w.bulk("entry-id");
      w.integer(e.entryId);
      w.bulk("timestamp-created");
      w.integer(e.createdMillis);
      w.bulk("timestamp-last-updated");
      w.integer(e.updatedMillis);
    }
  }

  private static void help(RespSession s, byte[][] a) {
    ConnectionCommands.helpReply(s, "ACL", List.of(
        "CAT [<category>]", "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]", "    Delete a list of users.",
        "GETUSER <username>", "    Get the user's details.",
        "LIST", "    Show users details in config file format.",
        "LOAD", "    Reload users from the ACL file.",
        "LOG [<count> | RESET]", "    Show the ACL log entries.",
        "SAVE", "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]", "    Create or modify a user with the specified attributes.",
        "USERS", "    List all the registered usernames.",
        "WHOAMI", "    Return the current connection username.",
        "HELP", "    Print this help."));
  }
}
