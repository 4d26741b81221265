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
 * @param joining true while the member is joining: it learns the slots it will own and owns none yet
 * @param departing true while the member is departing: it still owns its slots, which gain the
 *     copies the cluster without it will hold, and it leaves once they are whole
 */
public record ClusterMember(String id, String host, int port, State state, long incarnation, boolean joining,
    boolean departing) {

  /**
   * A member that is not departing.
   *
   * @param id the member's id
   * @param host the advertised host
   * @param port the advertised port
   * @param state the member's state
   * @param incarnation the member's counter for refuting suspicion
   * @param joining true while the member is joining
   */
  public ClusterMember(String id, String host, int port, State state, long incarnation, boolean joining) {
    this(id, host, port, state, incarnation, joining, false);
  }

  /**
   * A member that is not joining.
   *
   * @param id the member's id
   * @param host the advertised host
   * @param port the advertised port
   * @param state the member's state
   * @param incarnation the member's counter for refuting suspicion
   */
  public ClusterMember(String id, String host, int port, State state, long incarnation) {
    this(id, host, port, state, incarnation, false, false);
  }

  /**
   * Whether the member owns slots: ALIVE or SUSPECT, and done joining.
   *
   * @return true when keys are routed to it
   */
  public boolean ownsKeys() {
    return state.ownsKeys() && !joining;
  }

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
   * @param joining whether the member is still joining
   * @param departing whether the member is departing
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
    return id + "@" + address() + " " + state + (joining ? " joining" : "") + (departing ? " departing" : "") + " #"
        + incarnation;
  }
}
