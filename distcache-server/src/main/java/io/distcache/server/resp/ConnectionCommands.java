package io.distcache.server.resp;

import static io.distcache.server.resp.Args.is;

import io.distcache.server.resp.CommandTable.Registry;
import java.util.List;

/** Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT, CLIENT. */
final class ConnectionCommands {
  private ConnectionCommands() {}

  static void register(Registry r) {
    r.add("ping", -1, "fast", "connection", ConnectionCommands::ping);
    r.add("echo", 2, "fast", "connection", (s, a) -> s.out().bulk(a[1]));
    r.add("quit", -1, "fast no-auth allow_busy", "connection", ConnectionCommands::quit);
    r.add("reset", 1, "fast no-auth allow_busy", "connection", ConnectionCommands::reset);
    r.add("hello", -1, "fast no-auth allow_busy", "connection", ConnectionCommands::hello);
    r.add("auth", -2, "fast no-auth noscript loading stale allow_busy", "connection", ConnectionCommands::auth);
    r.add("select", 2, "fast", "connection", ConnectionCommands::select);
    List<CommandSpec> clientSubs = new java.util.ArrayList<>(List.of(
        Registry.sub("id", 2, "fast", "connection", (s, a) -> s.out().integer(s.client().id)),
        Registry.sub("getname", 2, "fast", "connection", ConnectionCommands::getname),
        Registry.sub("setname", 3, "fast", "connection", ConnectionCommands::setname),
        Registry.sub("setinfo", 4, "fast", "connection", ConnectionCommands::setinfo),
        Registry.sub("info", 2, "", "connection", ConnectionCommands::clientInfo),
        Registry.sub("list", -2, "admin", "connection", ConnectionCommands::clientList),
        Registry.sub("kill", -3, "admin noscript loading stale", "connection", ClientKill::kill),
        Registry.sub("no-evict", 3, "admin noscript loading stale", "connection", ConnectionCommands::noEvict),
        Registry.sub("unblock", -3, "admin noscript loading stale", "connection", ZSetBlockingCommands::unblock),
        Registry.sub("help", 2, "", "connection", ConnectionCommands::clientHelp)));
    clientSubs.addAll(TrackingCommands.subcommands());
    r.addContainer("client", -2, "", "connection", null, clientSubs);
  }

  private static void ping(RespSession s, byte[][] a) {
    if (a.length > 2) {
      throw new CommandException(RespErrors.wrongArity("ping"));
    }
    if (s.inSubscribedMode()) {
      // Redis in RESP2 subscribed mode: a push-shaped ["pong", argument or ""].
      RespWriter w = s.out();
      w.array(2);
      w.bulk("pong");
      w.bulk(a.length == 2 ? a[1] : new byte[0]);
    } else if (a.length == 2) {
      s.out().bulk(a[1]);
    } else {
      s.out().simple("PONG");
    }
  }

  private static void quit(RespSession s, byte[][] a) {
    s.out().ok();
    s.closeAfterReply();
  }

  private static void reset(RespSession s, byte[][] a) {
    s.transaction().discard();
    s.clearSubscriptions();
    s.protocol(2);
    s.client().name = "";
    // Redis: back to the default user, authenticated only if default needs no password.
    s.client().user = io.distcache.server.security.Users.DEFAULT;
    s.client().authenticated = false;
    s.out().simple("RESET");
  }

  /*
   * Redis's AUTH: "AUTH password" is "AUTH default password", an error when default needs no
   * password; a user that needs none accepts any password. A failure is WRONGPASS, whether the
   * user does not exist, is off or the password is wrong (nothing tells them apart), and is
   * recorded in ACL LOG with the user name tried, never the password.
   */
  private static void auth(RespSession s, byte[][] a) {
    if (a.length > 3) {
      throw new CommandException(RespErrors.SYNTAX);
    }
    if (a.length == 2 && s.context().users().defaultHasNoPassword()) {
      throw new CommandException(RespErrors.AUTH_WITHOUT_PASSWORD);
    }
    String user = a.length == 2 ? io.distcache.server.security.Users.DEFAULT : new String(a[1], java.nio.charset.StandardCharsets.UTF_8);
    authenticate(s, user, a[a.length - 1], "AUTH");
    s.out().ok();
  }

  /** Makes {@code user} this connection's user, or throws WRONGPASS (and logs the attempt in ACL LOG). */
  private static void authenticate(RespSession s, String user, byte[] password, String object) {
    io.distcache.server.security.User u = s.context().users().authenticate(user, password);
    if (u == null) {
      s.context().users().log().add("auth", "toplevel", object, user, s.client().describe(s.context().clock().nanos()));
      throw new CommandException(RespErrors.WRONGPASS);
    }
    s.client().user = u.name();
    s.client().authenticated = true;
  }

  private static void select(RespSession s, byte[][] a) {
    long db = Args.parseLong(a[1]);
    if (db != 0) {
      throw new CommandException(RespErrors.DB_OUT_OF_RANGE);
    }
    s.out().ok();
  }

  private static void hello(RespSession s, byte[][] a) {
    int protocol = s.protocol();
    int i = 1;
    if (a.length > 1) {
      long requested = Args.parseLong(a[1], "ERR Protocol version is not an integer or out of range");
      if (requested < 2 || requested > 3) {
        throw new CommandException("NOPROTO unsupported protocol version");
      }
      protocol = (int) requested;
      i = 2;
    }
    String name = null;
    for (; i < a.length; i++) {
      if (is(a[i], "auth") && a.length - i - 1 >= 2) {
        authenticate(s, new String(a[i + 1], java.nio.charset.StandardCharsets.UTF_8), a[i + 2], "HELLO");
        i += 2;
      } else if (is(a[i], "setname") && a.length - i - 1 >= 1) {
        name = validName(a[i + 1], "client name", RespErrors.BAD_CLIENT_NAME);
        i++;
      } else {
        throw new CommandException("ERR Syntax error in HELLO option '" + Args.latin1(a[i]) + "'");
      }
    }
    if (!s.client().authenticated && s.context().users().authRequired()) {
      throw new CommandException(RespErrors.NOAUTH_HELLO);
    }
    if (name != null) {
      s.client().name = name;
    }
    s.protocol(protocol);
    RespWriter w = s.out();
    w.map(7);
    w.bulk("server");
    w.bulk("redis");
    w.bulk("version");
    w.bulk(RespContext.REDIS_VERSION);
    w.bulk("proto");
    w.integer(protocol);
    w.bulk("id");
    w.integer(s.client().id);
    w.bulk("mode");
    w.bulk(s.context().cluster() != null ? "cluster" : "standalone");
    w.bulk("role");
    w.bulk("master");
    w.bulk("modules");
    w.array(0);
  }

  private static void getname(RespSession s, byte[][] a) {
    String name = s.client().name;
    s.out().bulkOrNull(name.isEmpty() ? null : Args.utf8(name));
  }

  private static void setname(RespSession s, byte[][] a) {
    s.client().name = validName(a[2], "client name", RespErrors.BAD_CLIENT_NAME);
    s.out().ok();
  }

  private static void setinfo(RespSession s, byte[][] a) {
    if (is(a[2], "lib-name")) {
      s.client().libName = validName(a[3], "lib-name", "ERR lib-name cannot contain spaces, newlines or special characters.");
    } else if (is(a[2], "lib-ver")) {
      s.client().libVersion = validName(a[3], "lib-ver", "ERR lib-ver cannot contain spaces, newlines or special characters.");
    } else {
      throw new CommandException("ERR Unrecognized option '" + Args.latin1(a[2]) + "'");
    }
    s.out().ok();
  }

  /**
   * Redis accepts printable ASCII without spaces in client names and library info. distcache also
   * bounds their length (ClientState.MAX_NAME_BYTES): each is kept for the connection's life and
   * copied into every CLIENT LIST line and ACL LOG entry, so 30 connections of 16 MB names would fill
   * the heap.
   */
  private static String validName(byte[] b, String what, String error) {
    if (b.length > ClientState.MAX_NAME_BYTES) {
      throw new CommandException("ERR " + what + " is " + b.length + " bytes, the limit is " + ClientState.MAX_NAME_BYTES);
    }
    for (byte c : b) {
      if (c < '!' || c > '~') {
        throw new CommandException(error);
      }
    }
    return Args.latin1(b);
  }

  private static void clientInfo(RespSession s, byte[][] a) {
    s.out().verbatim(s.client().describe(s.context().clock().nanos()) + "\n");
  }

  private static void clientList(RespSession s, byte[][] a) {
    List<Long> ids = null;
    Boolean pubsubType = null; // TYPE pubsub: subscribed connections; TYPE normal: the others
    if (a.length > 2) {
      if (is(a[2], "id") && a.length > 3) {
        ids = new java.util.ArrayList<>();
        for (int i = 3; i < a.length; i++) {
          long id = Args.parseLong(a[i], "ERR Invalid client ID");
          if (id <= 0) {
            throw new CommandException("ERR Invalid client ID");
          }
          ids.add(id);
        }
      } else if (is(a[2], "type") && a.length == 4) {
        if (!(is(a[3], "normal") || is(a[3], "master") || is(a[3], "replica") || is(a[3], "slave")
            || is(a[3], "pubsub"))) {
          throw new CommandException("ERR Unknown client type '" + Args.latin1(a[3]) + "'");
        }
        pubsubType = is(a[3], "pubsub") ? Boolean.TRUE : is(a[3], "normal") ? Boolean.FALSE : null;
        if (pubsubType == null) {
          ids = List.of(); // distcache has no Redis replicas or masters
        }
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    long now = s.context().clock().nanos();
    // Bounded like KEYS (the frame limit): 9,000 connections with 4 KiB names, library names and
    // versions made one reply of 110 MB, copied twice on the heap, and killed the node (a tester).
    long max = s.context().limits().maxRequestBytes();
    StringBuilder sb = new StringBuilder();
    for (ClientState c : s.context().stats().clients()) {
      if ((ids == null || ids.contains(c.id)) && (pubsubType == null || pubsubType == (c.sub + c.psub + c.ssub > 0))) {
        sb.append(c.describe(now)).append('\n');
        if (sb.length() > max) {
          throw new CommandException("ERR CLIENT LIST of more than " + max + " bytes, the limit; ask for some clients"
              + " with ID or TYPE");
        }
      }
    }
    s.out().verbatim(sb.toString());
  }

  /** CLIENT NO-EVICT: shown as flag 'e'; distcache never evicts clients for memory, so it changes nothing else. */
  private static void noEvict(RespSession s, byte[][] a) {
    if (is(a[2], "on")) {
      s.client().noEvict = true;
    } else if (is(a[2], "off")) {
      s.client().noEvict = false;
    } else {
      throw new CommandException(RespErrors.SYNTAX);
    }
    s.out().ok();
  }

  private static void clientHelp(RespSession s, byte[][] a) {
    helpReply(s, "CLIENT", List.of(
        "GETNAME", "    Return the name of the current connection.",
        "ID", "    Return the ID of the current connection.",
        "INFO", "    Return information about the current client connection.",
        "KILL <ip:port>", "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made to specified local address",
        "    * ID <client-id>", "      Kill connections by client id.",
        "    * USER <username>", "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)", "      Skip killing current connection (default: yes).",
        "LIST [TYPE <normal|master|replica|pubsub>] [ID <id> [<id> ...]]", "    Return information about client connections.",
        "NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
        "SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client library name or version.",
        "SETNAME <name>", "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]] [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "CACHING (YES|NO)", "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR", "    Return the client ID we are redirecting to when tracking is enabled.",
        "TRACKINGINFO", "    Return information about current client's tracking status.",
        "HELP", "    Print this help."));
  }

  /** Redis's HELP layout: a header line, then the lines, as simple strings. */
  static void helpReply(RespSession s, String command, List<String> lines) {
    RespWriter w = s.out();
    w.array(lines.size() + 1);
    w.simple(command + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    for (String line : lines) {
      w.simple(line);
    }
  }
}
