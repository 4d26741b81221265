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
  /** The connection, for CLIENT KILL and CLIENT LIST's buffer sizes; set when the session starts. */
  volatile io.netty.channel.Channel channel;
  /** CLIENT NO-EVICT (flag 'e'): kept and shown; distcache never evicts clients for memory. */
  volatile boolean noEvict;
  /** MONITOR was issued on this connection (flag 'O'). */
  volatile boolean monitor;

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
        + " tot-mem=0 events=r cmd=" + lastCommand + " user=default redir=-1 resp=" + protocol
        + " lib-name=" + libName + " lib-ver=" + libVersion;
  }
}
