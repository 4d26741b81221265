package io.distcache.server.bus;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The shared secret of the cluster bus. Holds the bytes for the HMAC and nothing prints them:
 * {@link #toString()} is redacted, so the secret cannot reach a log line or INFO by accident.
 */
public final class ClusterSecret {
  /** Shorter secrets are refused: 16 bytes is the least an HMAC key should carry. */
  public static final int MIN_BYTES = 16;
  /** Larger files are refused before they are read. */
  public static final int MAX_BYTES = 4096;
  /** The environment variable the command line reads when no file is given. */
  public static final String ENV = "DISTCACHE_CLUSTER_SECRET";

  private final byte[] bytes;

  private ClusterSecret(byte[] bytes) {
    if (bytes.length < MIN_BYTES || bytes.length > MAX_BYTES) {
      throw new IllegalArgumentException(
          "cluster secret of " + bytes.length + " bytes is outside " + MIN_BYTES + ".." + MAX_BYTES + " bytes");
    }
    this.bytes = bytes.clone();
  }

  /** A secret of these bytes (copied). */
  public static ClusterSecret of(byte[] bytes) {
    return new ClusterSecret(bytes);
  }

  /** A secret given as text (environment variable): its UTF-8 bytes, surrounding whitespace removed. */
  public static ClusterSecret ofText(String text) {
    return new ClusterSecret(text.strip().getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The secret in a file: its bytes, with trailing whitespace (the newline an editor adds)
   * removed.
   *
   * @throws IllegalArgumentException naming the file and what is wrong (never the content)
   */
  public static ClusterSecret fromFile(Path file) {
    try {
      long size = Files.size(file);
      if (size > MAX_BYTES) {
        throw new IllegalArgumentException(
            "cluster secret file " + file + " has " + size + " bytes; at most " + MAX_BYTES + " are accepted");
      }
      byte[] b = Files.readAllBytes(file);
      int n = b.length;
      while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' ' || b[n - 1] == '\t')) {
        n--;
      }
      byte[] trimmed = Arrays.copyOf(b, n);
      Arrays.fill(b, (byte) 0);
      if (n < MIN_BYTES) {
        throw new IllegalArgumentException(
            "cluster secret file " + file + " holds " + n + " bytes; at least " + MIN_BYTES + " are needed");
      }
      return new ClusterSecret(trimmed);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read cluster secret file " + file + ": " + e.getMessage(), e);
    }
  }

  byte[] bytes() {
    return bytes;
  }

  @Override
  public String toString() {
    return "ClusterSecret[redacted]";
  }
}
