package io.distcache.server.resp;

import static io.distcache.server.resp.Args.is;

import java.util.ArrayList;
import java.util.List;

/*
 * Design: CLIENT KILL in Redis's two forms. The old one (CLIENT KILL ip:port) kills one client and
 * answers OK or "ERR No such client"; the new one takes filters (ID, ADDR, LADDR, USER, SKIPME),
 * all of which a client must match, and answers how many it killed. The caller is skipped unless
 * SKIPME no; killing itself, it gets its answer first, then is closed. Other clients are closed
 * from this thread (Netty runs the close on their own event loop).
 */

/** CLIENT KILL. */
final class ClientKill {
  private ClientKill() {}

  static void kill(RespSession s, byte[][] a) {
    if (a.length == 3) {
      String addr = Args.latin1(a[2]);
      for (ClientState c : s.context().stats().clients()) {
        if (c.address.equals(addr)) {
          close(s, c);
          s.out().ok();
          return;
        }
      }
      throw new CommandException("ERR No such client");
    }
    if (a.length % 2 != 0) {
      throw new CommandException(RespErrors.SYNTAX);
    }
    Long id = null;
    String addr = null;
    String laddr = null;
    String user = null;
    boolean skipMe = true;
    for (int i = 2; i < a.length; i += 2) {
      byte[] v = a[i + 1];
      if (is(a[i], "id")) {
        id = Args.parseLong(v, "ERR client-id should be greater than 0");
        if (id <= 0) {
          throw new CommandException("ERR client-id should be greater than 0");
        }
      } else if (is(a[i], "addr")) {
        addr = Args.latin1(v);
      } else if (is(a[i], "laddr")) {
        laddr = Args.latin1(v);
      } else if (is(a[i], "user")) {
        user = Args.latin1(v);
      } else if (is(a[i], "skipme")) {
        if (is(v, "yes")) {
          skipMe = true;
        } else if (is(v, "no")) {
          skipMe = false;
        } else {
          throw new CommandException(RespErrors.SYNTAX);
        }
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    List<ClientState> victims = new ArrayList<>();
    for (ClientState c : s.context().stats().clients()) {
      if ((id == null || c.id == id) && (addr == null || c.address.equals(addr))
          && (laddr == null || c.localAddress.equals(laddr)) && (user == null || c.user.equals(user))
          && !(skipMe && c == s.client())) {
        victims.add(c);
      }
    }
    for (ClientState c : victims) {
      close(s, c);
    }
    s.out().integer(victims.size());
  }

  /** Closes {@code c} at once; the caller's own connection after its reply. */
  static void close(RespSession s, ClientState c) {
    if (c == s.client()) {
      s.closeAfterReply();
    } else if (c.channel != null) {
      c.channel.close();
    }
  }
}
