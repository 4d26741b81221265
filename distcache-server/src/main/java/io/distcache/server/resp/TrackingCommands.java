package io.distcache.server.resp;

import static io.distcache.server.resp.Args.is;

import io.distcache.server.resp.CommandTable.Registry;
import io.distcache.server.tracking.TrackingTable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/*
 * Design: CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO with Redis's argument rules, replies
 * and error texts (networking.c clientCommand and tracking.c). The parsing order is Redis's: every
 * option is read first (a bad one is a syntax error whatever the mode), then ON checks the options
 * against each other and the connection's current mode. Turning tracking on again replaces the
 * options and adds BCAST prefixes to those already followed.
 */

/** The client-side caching subcommands of CLIENT. */
final class TrackingCommands {
  private TrackingCommands() {}

  static List<CommandSpec> subcommands() {
    return List.of(
        Registry.sub("tracking", -3, "noscript loading stale", "connection", TrackingCommands::tracking),
        Registry.sub("caching", 3, "noscript loading stale", "connection", TrackingCommands::caching),
        Registry.sub("getredir", 2, "noscript loading stale", "connection", TrackingCommands::getredir),
        Registry.sub("trackinginfo", 2, "noscript loading stale", "connection", TrackingCommands::trackinginfo));
  }

  /**
   * BCAST prefixes one connection may follow, and their bytes (each counted with PREFIX_OVERHEAD):
   * Redis has no bound, but its overlap check is quadratic in them and every write is matched
   * against all of them.
   */
  static final int MAX_PREFIXES = 1024;
  static final long MAX_PREFIX_BYTES = 1024 * 1024;
  private static final int PREFIX_OVERHEAD = 16;

  private static void tracking(RespSession s, byte[][] a) {
    long redirect = 0;
    boolean bcast = false;
    boolean optin = false;
    boolean optout = false;
    boolean noloop = false;
    List<byte[]> prefixes = new ArrayList<>();
    for (int j = 3; j < a.length; j++) {
      boolean more = j + 1 < a.length;
      if (is(a[j], "redirect") && more) {
        j++;
        if (redirect != 0) {
          throw new CommandException("ERR A client can only redirect to a single other client");
        }
        redirect = Args.parseLong(a[j], RespErrors.NOT_INTEGER);
        if (findSession(s, redirect) == null) {
          throw new CommandException("ERR The client ID you want redirect to does not exist");
        }
      } else if (is(a[j], "bcast")) {
        bcast = true;
      } else if (is(a[j], "optin")) {
        optin = true;
      } else if (is(a[j], "optout")) {
        optout = true;
      } else if (is(a[j], "noloop")) {
        noloop = true;
      } else if (is(a[j], "prefix") && more) {
        j++;
        prefixes.add(a[j]);
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    TrackingTable table = s.context().trackingTable();
    if (is(a[2], "on")) {
      if (table == null) {
        throw new CommandException("ERR client tracking is not available on this server");
      }
      ClientTracking t = s.tracking();
      if (!bcast && !prefixes.isEmpty()) {
        throw new CommandException("ERR PREFIX option requires BCAST mode to be enabled");
      }
      if (t.on && t.bcast != bcast) {
        throw new CommandException("ERR You can't switch BCAST mode on/off before disabling tracking for this client,"
            + " and then re-enabling it with a different mode.");
      }
      if (bcast && (optin || optout)) {
        throw new CommandException("ERR OPTIN and OPTOUT are not compatible with BCAST");
      }
      if (optin && optout) {
        throw new CommandException("ERR You can't use both OPTIN and OPTOUT");
      }
      if (t.on && ((optin && t.optout) || (optout && t.optin))) {
        throw new CommandException("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client,"
            + " and then re-enabling it with a different mode.");
      }
      List<byte[]> followed = new ArrayList<>();
      long addedBytes = 0;
      if (bcast) {
        if (t.on && t.prefixes != null) {
          followed.addAll(t.prefixes);
        }
        // Bounded before the (quadratic) overlap check, and before anything is kept.
        if (followed.size() + Math.max(prefixes.size(), 1) > MAX_PREFIXES) {
          throw new CommandException("ERR " + prefixes.size() + " more prefixes would follow over " + MAX_PREFIXES
              + " prefixes, the limit per connection");
        }
        for (byte[] p : prefixes) {
          addedBytes += p.length + PREFIX_OVERHEAD;
        }
        if (t.prefixBytes + addedBytes > MAX_PREFIX_BYTES) {
          throw new CommandException("ERR " + addedBytes + " more bytes of prefixes would follow over " + MAX_PREFIX_BYTES
              + " bytes, the limit per connection");
        }
        checkCollisions(followed, prefixes);
        if (prefixes.isEmpty()) {
          prefixes.add(new byte[0]); // Redis follows the empty prefix: every key
        }
        followed.addAll(prefixes);
        s.memory().take(addedBytes, "following these prefixes");
        t.prefixBytes += addedBytes;
      }
      t.redirect = redirect;
      t.redirectTo = redirect == 0 ? null : findSession(s, redirect).outbox();
      t.brokenRedirect = false;
      t.optin = optin;
      t.optout = optout;
      t.noloop = noloop;
      t.bcast = bcast;
      t.prefixes = bcast ? List.copyOf(followed) : null;
      t.caching = false;
      t.on = true;
      s.client().redir = redirect;
      s.client().tracking = true;
      table.enable(t);
    } else if (is(a[2], "off")) {
      ClientTracking t = s.trackingIfAny();
      if (t != null && t.on) {
        table.disable(t);
        t.on = false;
        t.bcast = false;
        t.optin = false;
        t.optout = false;
        t.noloop = false;
        t.redirect = 0;
        t.redirectTo = null;
        t.brokenRedirect = false;
        t.prefixes = null;
        s.memory().release(t.prefixBytes);
        t.prefixBytes = 0;
        t.caching = false;
      }
      s.client().redir = -1;
      s.client().tracking = false;
    } else {
      throw new CommandException(RespErrors.SYNTAX);
    }
    s.out().ok();
  }

  /** Redis's checkPrefixCollisionsOrReply: no prefix may be a prefix of another of the client's. */
  private static void checkCollisions(List<byte[]> existing, List<byte[]> given) {
    for (int i = 0; i < given.size(); i++) {
      byte[] p = given.get(i);
      for (byte[] e : existing) {
        if (overlap(e, p)) {
          throw new CommandException("ERR Prefix '" + text(p) + "' overlaps with an existing prefix '" + text(e)
              + "'. Prefixes for a single client must not overlap.");
        }
      }
      for (int j = i + 1; j < given.size(); j++) {
        if (overlap(p, given.get(j))) {
          throw new CommandException("ERR Prefix '" + text(p) + "' overlaps with another provided prefix '"
              + text(given.get(j)) + "'. Prefixes for a single client must not overlap.");
        }
      }
    }
  }

  private static boolean overlap(byte[] a, byte[] b) {
    int n = Math.min(a.length, b.length);
    return java.util.Arrays.equals(a, 0, n, b, 0, n);
  }

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private static void caching(RespSession s, byte[][] a) {
    ClientTracking t = s.trackingIfAny();
    if (t == null || !t.on) {
      throw new CommandException("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN"
          + " or OPTOUT mode enabled");
    }
    if (is(a[2], "yes")) {
      if (!t.optin) {
        throw new CommandException("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
      }
    } else if (is(a[2], "no")) {
      if (!t.optout) {
        throw new CommandException("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
      }
    } else {
      throw new CommandException(RespErrors.SYNTAX);
    }
    t.caching = true;
    t.cachingJustSet = true;
    s.out().ok();
  }

  private static void getredir(RespSession s, byte[][] a) {
    ClientTracking t = s.trackingIfAny();
    s.out().integer(t != null && t.on ? t.redirect : -1);
  }

  private static void trackinginfo(RespSession s, byte[][] a) {
    ClientTracking t = s.trackingIfAny();
    boolean on = t != null && t.on;
    List<String> flags = new ArrayList<>();
    flags.add(on ? "on" : "off");
    if (on) {
      if (t.bcast) {
        flags.add("bcast");
      }
      if (t.optin) {
        flags.add("optin");
        if (t.caching) {
          flags.add("caching-yes");
        }
      }
      if (t.optout) {
        flags.add("optout");
        if (t.caching) {
          flags.add("caching-no");
        }
      }
      if (t.noloop) {
        flags.add("noloop");
      }
      if (t.brokenRedirect) {
        flags.add("broken_redirect");
      }
    }
    RespWriter w = s.out();
    w.map(3);
    w.bulk("flags");
    w.set(flags.size());
    for (String f : flags) {
      w.bulk(f);
    }
    w.bulk("redirect");
    w.integer(on ? t.redirect : -1);
    w.bulk("prefixes");
    List<byte[]> ps = on && t.prefixes != null ? t.prefixes : List.of();
    w.array(ps.size());
    for (byte[] p : ps) {
      w.bulk(p);
    }
  }

  /** The session of connected client {@code id}, or null. */
  private static RespSession findSession(RespSession s, long id) {
    for (ClientState c : s.context().stats().clients()) {
      if (c.id == id) {
        io.netty.channel.Channel ch = c.channel;
        return ch == null ? null : ch.pipeline().get(RespSession.class);
      }
    }
    return null;
  }
}
