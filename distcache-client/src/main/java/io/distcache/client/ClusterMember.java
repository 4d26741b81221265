package io.distcache.client;

import java.util.Objects;

/**
 * One member of a cluster as a node reported it (CLUSTER_MEMBERS), from {@link
 * DistCacheClient#members()} and {@link DistCacheClient#ownerOf(String)}. For tools and logs; the
 * client routes by it on its own.
 *
 * @param id the member's id, new on every start of the node process
 * @param host the host the member advertises to clients and peers
 * @param port the port it advertises
 * @param state what the reporting node believes about the member
 * @param incarnation the member's own counter for refuting suspicion
 */
public record ClusterMember(String id, String host, int port, State state, long incarnation) {

  /** A member's state; ALIVE and SUSPECT members own keys. The order is the wire encoding. */
  public enum State {
    /** Answering its probes. */
    ALIVE,
    /** Missed a probe; still owns keys until declared dead or it refutes. */
    SUSPECT,
    /** Declared dead by failure detection; owns no keys. */
    DEAD,
    /** Left the cluster on purpose; owns no keys. */
    LEFT;

    /**
     * Whether members in this state own keys on the ring.
     *
     * @return true for ALIVE and SUSPECT
     */
    public boolean ownsKeys() {
      return this == ALIVE || this == SUSPECT;
    }
  }

  /**
   * Checks that id, host and state are not null.
   *
   * @param id the member's id
   * @param host the advertised host
   * @param port the advertised port
   * @param state the member's state
   * @param incarnation the member's counter for refuting suspicion
   */
  public ClusterMember {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(state, "state");
  }

  /**
   * The member's address.
   *
   * @return {@code host:port}, with brackets around an IPv6 host
   */
  public String address() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }

  @Override
  public String toString() {
    return id + "@" + address() + " " + state + " #" + incarnation;
  }
}
