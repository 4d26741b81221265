package io.distcache.server.security;

import java.nio.charset.StandardCharsets;

/**
 * One {@code ~pattern} (read and write), {@code %R~pattern} or {@code %W~pattern} of a user: a
 * Redis glob over key names, kept as bytes too since keys are matched as bytes on every command.
 */
public final class KeyPattern {
  private final String glob;
  private final byte[] bytes;
  private final boolean read;
  private final boolean write;

  public KeyPattern(String glob, boolean read, boolean write) {
    this.glob = glob;
    this.bytes = glob.getBytes(StandardCharsets.UTF_8);
    this.read = read;
    this.write = write;
  }

  public String glob() {
    return glob;
  }

  /** The glob's UTF-8 bytes (not to be changed). */
  public byte[] globBytes() {
    return bytes;
  }

  public boolean read() {
    return read;
  }

  public boolean write() {
    return write;
  }

  /** The rule as ACL LIST and the aclfile write it. */
  String rule() {
    return (read && write ? "~" : read ? "%R~" : "%W~") + glob;
  }
}
