package io.distcache.server.membership;

/**
 * What a node believes about a member. ALIVE and SUSPECT members own keys (a suspect may only be
 * slow, and moving its keys on a false alarm costs more than waiting); DEAD and LEFT do not.
 */
public enum MemberState {
  /** Answering probes, or has refuted the last suspicion. */
  ALIVE,
  /** Missed a probe, direct and indirect; declared DEAD unless it refutes in time. */
  SUSPECT,
  /** Stayed suspect past the suspicion timeout, or was superseded by a newer process at its address. */
  DEAD,
  /** Said goodbye. Final: a process that left never comes back under the same id. */
  LEFT;

  /** True for the states that keep a member in the ring. */
  public boolean ownsKeys() {
    return this == ALIVE || this == SUSPECT;
  }
}
