package io.distcache.server.resp;

import io.distcache.server.security.KeyPattern;
import io.distcache.server.security.User;
import io.distcache.server.security.Users;

/*
 * Design: the checks Redis makes before a command runs, in its order: authentication (NOAUTH; only
 * the "no-auth" commands AUTH, HELLO, QUIT and RESET run before it), then the user's permission for
 * the command or subcommand, then for each key at the command's key positions (first, last, step
 * from the command table; not the shard channels of SPUBLISH, SSUBSCRIBE and SUNSUBSCRIBE, which Redis
 * does not treat as keys for ACLs), and for the pub/sub commands each channel (checkChannels). A key needs a pattern that allows reading for a "readonly" command and
 * writing for a "write" one (Redis 7 refines this per key with key-specs; distcache's commands each
 * read or write all their keys, so the command's flag says it). The no-auth commands skip the
 * command rules after authentication too, as in Redis. A denial is answered NOPERM, recorded in
 * ACL LOG and counted in the command's rejected_calls. The default user with every command and key allowed (every node without
 * ACLs) is recognised by one flag and skips the rest.
 */

/** Authentication and ACL checks of one Redis command. */
final class AclCheck {
  private AclCheck() {}

  /**
   * Throws the error to answer when {@code spec} (already resolved to the subcommand) may not run
   * on this connection now; returns normally when it may.
   */
  static void check(RespSession s, CommandSpec top, CommandSpec spec, String fullName, byte[][] args) {
    try {
      checkOnce(s, top, spec, fullName, args);
    } catch (CommandException refused) {
      spec.stats().rejected(); // Redis counts NOAUTH and NOPERM refusals in rejected_calls, as arity errors
      throw refused;
    }
  }

  private static void checkOnce(RespSession s, CommandSpec top, CommandSpec spec, String fullName, byte[][] args) {
    ClientState c = s.client();
    Users users = s.context().users();
    if (!c.authenticated && top.flags().contains("no-auth")) {
      return; // AUTH, HELLO, QUIT, RESET: no ACL check before authentication
    }
    if (!c.authenticated && users.authRequired()) {
      throw new CommandException(RespErrors.NOAUTH);
    }
    User u = users.get(c.user);
    if (u == null || !u.enabled() && c.authenticated) {
      // The user was deleted (or switched off) since this connection authenticated: Redis
      // disconnects such clients.
      s.closeAfterReply();
      throw new CommandException(RespErrors.NOAUTH);
    }
    if (u.unrestricted()) {
      return;
    }
    if (top.flags().contains("no-auth")) {
      // AUTH, HELLO, QUIT and RESET pass the user's command rules after authentication too
      // (Redis's CMD_NO_AUTH exemption): a user without @connection could not switch users,
      // upgrade to RESP3 (redis-cli -3), reset or quit (a tester). They have no keys to check.
      return;
    }
    if (!u.allows(fullName)) {
      users.log().add("command", "toplevel", fullName, u.name(), c.describe(s.context().clock().nanos()));
      throw new CommandException(RespErrors.nopermCommand(u.name(), fullName));
    }
    if (!u.allChannels()) {
      checkChannels(s, u, fullName, args);
    }
    if (spec.firstKey() <= 0 || u.allKeys() || CommandKeys.CHANNEL_NOT_KEY.contains(fullName)) {
      return;
    }
    boolean write = spec.flags().contains("write");
    boolean read = spec.flags().contains("readonly") || !write;
    for (byte[] key : CommandKeys.keys(spec, args)) {
      if (!keyAllowed(u, key, read, write)) {
        users.log().add("key", "toplevel", Args.latin1(key), u.name(), c.describe(s.context().clock().nanos()));
        throw new CommandException(RespErrors.NOPERM_KEY);
      }
    }
  }

  /**
   * The {@code &pattern} rules, as Redis applies them: PUBLISH, SPUBLISH, SUBSCRIBE and SSUBSCRIBE need
   * every channel they name to match a pattern of the user; PSUBSCRIBE needs each pattern to be
   * one of the user's patterns, literally (a pattern could match channels the user may not see).
   */
  private static void checkChannels(RespSession s, User u, String fullName, byte[][] args) {
    int from;
    int to;
    switch (fullName) {
      case "publish", "spublish" -> {
        from = 1;
        to = 1;
      }
      case "subscribe", "ssubscribe", "psubscribe" -> {
        from = 1;
        to = args.length - 1;
      }
      default -> {
        return;
      }
    }
    for (int i = from; i <= to && i < args.length; i++) {
      boolean ok = false;
      for (String p : u.channelPatterns()) {
        byte[] pattern = p.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        ok = fullName.equals("psubscribe") ? java.util.Arrays.equals(pattern, args[i]) : GlobMatcher.matchesTrusted(pattern, args[i]);
        if (ok) {
          break;
        }
      }
      if (!ok) {
        ClientState c = s.client();
        s.context().users().log().add("channel", "toplevel", Args.latin1(args[i]), u.name(),
            c.describe(s.context().clock().nanos()));
        throw new CommandException(RespErrors.NOPERM_CHANNEL);
      }
    }
  }

  /** True when a pattern of {@code u} covers {@code key} for the access needed (read, write or both). */
  static boolean keyAllowed(User u, byte[] key, boolean read, boolean write) {
    boolean canRead = !read;
    boolean canWrite = !write;
    for (KeyPattern p : u.keyPatterns()) {
      if ((p.read() && !canRead || p.write() && !canWrite)
          && GlobMatcher.matchesTrusted(p.globBytes(), key)) {
        canRead |= p.read();
        canWrite |= p.write();
      }
    }
    return canRead && canWrite;
  }
}
