package io.distcache.protocol.cluster;

import java.util.Objects;
import java.util.Random;

/**
 * One run of one node: an id that is new every time the process starts, and the address it
 * advertises. A restarted node is a different member at the same address (its data is gone, so
 * the cluster must not mistake it for the old one).
 *
 * <p>Ids are 40 lowercase hex digits, the form of a Redis Cluster node id: the start time in
 * milliseconds as 12 hex digits, then 28 random ones.
 * Two members at one address are ordered by id: the greater id is the newer process, which is how
 * every node decides, without coordination, which entry for an address is current.
 */
public record Member(String id, Address address) {
  /** Bounds the id on the wire. */
  public static final int MAX_ID_LENGTH = 64;

  public Member {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(address, "address");
    if (id.isEmpty() || id.length() > MAX_ID_LENGTH) {
      throw new IllegalArgumentException("member id length " + id.length() + " is outside 1.." + MAX_ID_LENGTH);
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c <= 0x20 || c >= 0x7F) {
        throw new IllegalArgumentException(
            "member id contains the character 0x" + Integer.toHexString(c) + " at " + i + "; ids are printable ASCII");
      }
    }
  }

  /** A fresh id for a process started at {@code startMillis}. */
  public static String newId(long startMillis, Random random) {
    return String.format("%012x%012x%016x", startMillis & 0xFFFF_FFFF_FFFFL, random.nextLong() & 0xFFFF_FFFF_FFFFL,
        random.nextLong());
  }

  /**
   * The record's equality, written out: identity first, then the id (which differs between any two
   * members) before the address. The generated one is reached through an invokedynamic bootstrap
   * and compares every component; a placement change compares members for each of 16,384 slots in
   * code too cold to be compiled, where that was its largest cost (a join's JFR).
   */
  @Override
  public boolean equals(Object o) {
    return this == o || o instanceof Member m && id.equals(m.id) && address.equals(m.address);
  }

  @Override
  public int hashCode() {
    return 31 * id.hashCode() + address.hashCode();
  }

  @Override
  public String toString() {
    return id + "@" + address;
  }
}
