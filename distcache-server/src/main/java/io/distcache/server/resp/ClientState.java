package io.distcache.server.resp;

/**
 * What one Redis connection is, for CLIENT and HELLO. Written by the connection's event loop; read
 * (CLIENT LIST) from others, hence volatile.
 */
final class ClientState {
  /** The longest client name, lib-name or lib-ver (Redis has no bound but proto-max-bulk-len). */
  static final int MAX_NAME_BYTES = 4096;
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
  /** The ACL user this connection runs as ("default" until AUTH says otherwise). */
  volatile String user = io.distcache.server.security.Users.DEFAULT;
  /** Channels, patterns and shard channels subscribed (CLIENT LIST sub, psub, ssub; flag 'P'). */
  volatile int sub;
  volatile int psub;
  volatile int ssub;
  /** CLIENT TRACKING is on (flag 't'); its REDIRECT id (redir=, -1 when tracking is off). */
  volatile boolean tracking;
  volatile long redir = -1;
  /** The connection's last blocking pop (CLIENT UNBLOCK reaches it), null before its first. */
  volatile BlockingPop blockingPop;
  /** Bytes and number of the replies parked behind one not yet come (RespSession), in omem and oll. */
  volatile long parkedBytes;
  volatile int parkedReplies;
  /** AUTH (or HELLO AUTH) succeeded; without it a connection may run only AUTH, HELLO, QUIT, RESET when auth is required. */
  volatile boolean authenticated;

  ClientState(long id, String address, String localAddress, long nowNanos) {
    this.id = id;
    this.address = address;
    this.localAddress = localAddress;
    this.connectedNanos = nowNanos;
    this.lastCommandNanos = nowNanos;
  }

  /**
   * One line of CLIENT LIST / CLIENT INFO, with Redis's field names and meanings (no trailing
   * newline): fd is the socket's descriptor (-1 on the NIO transport, which does not expose it),
   * qbuf the bytes received and not yet parsed, omem and oll the bytes and buffers waiting to be
   * sent (replies parked behind one not yet come included), tot-mem the two together; fields for features distcache does not have (pub/sub,
   * transactions, WATCH) are 0 or -1 as Redis gives them for a client not using them.
   */
  String describe(long nowNanos) {
    long age = (nowNanos - connectedNanos) / 1_000_000_000L;
    long idle = (nowNanos - lastCommandNanos) / 1_000_000_000L;
    io.netty.channel.Channel ch = channel;
    int fd = -1;
    long qbuf = 0;
    long omem = parkedBytes;
    long oll = parkedReplies;
    boolean reading = true;
    if (ch != null) {
      if (ch instanceof io.netty.channel.unix.UnixChannel unix) {
        fd = unix.fd().intValue();
      }
      if (ch.pipeline().get(RespPipeline.DECODER) instanceof RespDecoder decoder) {
        qbuf = decoder.bufferedBytes();
      }
      io.netty.channel.ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
      if (out != null) {
        omem += out.totalPendingWriteBytes();
        oll += out.size();
      }
      reading = ch.config().isAutoRead();
    }
    String flags = (monitor ? "O" : "") + (sub + psub + ssub > 0 ? "P" : "") + (noEvict ? "e" : "") + (tracking ? "t" : "");
    return "id=" + id + " addr=" + address + " laddr=" + localAddress + " fd=" + fd + " name=" + name
        + " age=" + age + " idle=" + idle + " flags=" + (flags.isEmpty() ? "N" : flags)
        + " db=0 sub=" + sub + " psub=" + psub + " ssub=" + ssub + " multi=-1 watch=0 qbuf=" + qbuf + " qbuf-free=0 argv-mem=0 multi-mem=0"
        + " rbs=0 rbp=0 obl=0 oll=" + oll + " omem=" + omem + " tot-mem=" + (qbuf + omem)
        + " events=" + (reading ? "r" : "") + (omem > 0 ? "w" : "") + " cmd=" + lastCommand + " user=" + user
        + " redir=" + redir + " resp=" + protocol + " lib-name=" + libName + " lib-ver=" + libVersion;
  }
}
