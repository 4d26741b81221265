package io.distcache.server.cluster;

import java.util.Locale;

/** When a write is acknowledged to its client, relative to the slot's replicas (--replication). */
public enum ReplicationMode {
  /** After every live replica of the slot has applied it: an acknowledged write survives its owner's loss. */
  SYNC,
  /** At once, by the owner alone; replicas follow in order, and the lag is reported (INFO replication). */
  ASYNC;

  /** The flag's spelling: "sync" or "async". */
  public String flagName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** @throws IllegalArgumentException naming the value when it is neither "sync" nor "async" */
  public static ReplicationMode parse(String text) {
    for (ReplicationMode m : values()) {
      if (m.flagName().equalsIgnoreCase(text)) {
        return m;
      }
    }
    throw new IllegalArgumentException("replication mode '" + text + "' is neither sync nor async");
  }
}
