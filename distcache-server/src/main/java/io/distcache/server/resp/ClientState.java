package io.distcache.server.resp;

/**
 * What one Redis connection is, for CLIENT and HELLO. Written by the connection's event loop; read
 * (CLIENT LIST) from others, hence volatile.
 */
final class ClientState {
  final long id;
  final String address;
  final String localAddress;
  final long connectedNanos;
  volatile long lastCommandNanos;
  volatile String lastCommand = "NULL";
  volatile String name = "";
  volatile String libName = "";
  volatile String libVersion = "";
  volatile int protocol = 2;
  /** The ACL user this connection runs as ("default" until AUTH says otherwise). */
  volatile String user = io.distcache.server.security.Users.DEFAULT;
  /** AUTH (or HELLO AUTH) succeeded; without it a connection may run only AUTH, HELLO, QUIT, RESET when auth is required. */
  volatile boolean authenticated;

  ClientState(long id, String address, String localAddress, long nowNanos) {
    this.id = id;
    this.address = address;
    this.localAddress = localAddress;
    this.connectedNanos = nowNanos;
    this.lastCommandNanos = nowNanos;
  }

  /** One line of CLIENT LIST / CLIENT INFO, with Redis's field names (no trailing newline). */
  String describe(long nowNanos) {
    long age = (nowNanos - connectedNanos) / 1_000_000_000L;
    long idle = (nowNanos - lastCommandNanos) / 1_000_000_000L;
    return "id=" + id + " addr=" + address + " laddr=" + localAddress + " fd=-1 name=" + name
        + " age=" + age + " idle=" + idle + " flags=N db=0 sub=0 psub=0 ssub=0 multi=-1"
        + " watch=0 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0"
        + " tot-mem=0 events=r cmd=" + lastCommand + " user=" + user + " redir=-1 resp=" + protocol
        + " lib-name=" + libName + " lib-ver=" + libVersion;
  }
}
