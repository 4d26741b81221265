package io.distcache.server.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Passwords are kept only as the lowercase hex SHA-256 of their bytes, as Redis keeps them (ACL
 * GETUSER and ACL LIST show the hash, an aclfile may give {@code #<hash>}); comparisons are in
 * constant time over the hashes.
 */
public final class PasswordHash {
  private PasswordHash() {}

  public static String of(byte[] password) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(password);
      StringBuilder sb = new StringBuilder(64);
      for (byte b : d) {
        sb.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
      }
      return sb.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every JDK", e);
    }
  }

  public static String of(String password) {
    return of(password.getBytes(StandardCharsets.UTF_8));
  }

  /** True for 64 lowercase hex characters, the only form Redis accepts after {@code #}. */
  static boolean isHash(String s) {
    if (s.length() != 64) {
      return false;
    }
    for (int i = 0; i < 64; i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  static boolean equal(String a, String b) {
    return MessageDigest.isEqual(a.getBytes(StandardCharsets.US_ASCII), b.getBytes(StandardCharsets.US_ASCII));
  }
}
