package io.distcache.server.cli;

import java.net.InetAddress;

/**
 * A host and port as written on the command line: {@code :7000} (host left out), {@code
 * 127.0.0.1:7000}, {@code node1.example:7000} or {@code [::1]:7000}.
 *
 * @param host the host, or null when the text left it out
 * @param port 0..65535
 */
record HostPort(String host, int port) {

  static HostPort parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty address: expected host:port or :port, e.g. :7000");
    }
    String s = text.trim();
    int colon = s.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("invalid address '" + text + "': expected host:port or :port, e.g. :7000");
    }
    String host = s.substring(0, colon);
    String portText = s.substring(colon + 1);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.indexOf(':') >= 0) {
      throw new IllegalArgumentException(
          "invalid address '" + text + "': write IPv6 hosts in brackets, e.g. [::1]:7000");
    }
    int port;
    try {
      port = Integer.parseInt(portText);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("invalid port '" + portText + "' in address '" + text + "': expected 0..65535");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " in address '" + text + "' is out of range 0..65535");
    }
    return new HostPort(host.isEmpty() ? null : host, port);
  }

  /** The host to connect to: a left-out host means this machine. */
  String hostOrLoopback() {
    return host == null ? InetAddress.getLoopbackAddress().getHostAddress() : host;
  }

  @Override
  public String toString() {
    String h = host == null ? "" : host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    return h + ":" + port;
  }
}
