package io.distcache.server.membership;

/**
 * Told after every change to the member list. Called on the thread that drives the engine, with
 * the engine's lock held: keep it short (rebuilding the ring is fine; blocking I/O is not).
 */
@FunctionalInterface
public interface MembershipListener {

  void membershipChanged(MembershipSnapshot snapshot);
}
