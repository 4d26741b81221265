package io.distcache.protocol.cluster;

import java.util.Objects;

/**
 * The host:port a node advertises: where peers and clients reach it. Compared as given (no DNS
 * lookups), so every node must advertise the same spelling it is listed under in seeds.
 */
public record Address(String host, int port) {
  /** Host names are at most 253 characters (DNS), so this bound is generous. */
  public static final int MAX_HOST_LENGTH = 255;

  public Address {
    Objects.requireNonNull(host, "host");
    if (host.isEmpty() || host.length() > MAX_HOST_LENGTH) {
      throw new IllegalArgumentException(
          "host length " + host.length() + " is outside 1.." + MAX_HOST_LENGTH);
    }
    // Hosts travel as ASCII (international names as punycode), one byte per character.
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      if (c <= 0x20 || c >= 0x7F) {
        throw new IllegalArgumentException("host contains the character 0x" + Integer.toHexString(c) + " at " + i);
      }
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " is outside 1..65535");
    }
  }

  /** Parses {@code host:port}, or {@code [v6-address]:port}. */
  public static Address parse(String text) {
    Objects.requireNonNull(text, "address");
    String s = text.trim();
    int colon = s.lastIndexOf(':');
    if (colon <= 0 || colon == s.length() - 1) {
      throw new IllegalArgumentException("address '" + text + "' is not host:port");
    }
    String host = s.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.indexOf(':') >= 0) {
      throw new IllegalArgumentException("address '" + text + "': write IPv6 hosts in brackets, [::1]:7000");
    }
    int port;
    try {
      port = Integer.parseInt(s.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("address '" + text + "': port is not a number");
    }
    return new Address(host, port);
  }

  @Override
  public String toString() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }

  /** The record's equality, written out with an identity test first (see Member.equals). */
  @Override
  public boolean equals(Object o) {
    return this == o || o instanceof Address a && port == a.port && host.equals(a.host);
  }

  @Override
  public int hashCode() {
    return 31 * host.hashCode() + port;
  }
}
