package io.distcache.server.resp;

import java.util.Locale;

/**
 * Whether Redis connections are redirected (MOVED) or forwarded when a key's slot is owned by
 * another node: the node's {@code --redirects} setting. docs/PROTOCOL.md, "Redirects", has the rule.
 */
public enum RedirectMode {
  /** Cluster connections get MOVED after a topology change, plain ones are forwarded (the default). */
  AUTO,
  /** Every connection gets MOVED for a slot this node does not own, as Redis Cluster does. */
  MOVED,
  /** No connection ever gets a redirect: requests are forwarded to the owner. */
  FORWARD;

  /** The flag's spelling: auto, moved, forward. */
  public String flagName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses the flag's spelling, case-insensitively. */
  public static RedirectMode fromName(String name) {
    for (RedirectMode m : values()) {
      if (m.flagName().equalsIgnoreCase(name == null ? "" : name.trim())) {
        return m;
      }
    }
    throw new IllegalArgumentException("redirects '" + name + "' is not one of auto, moved, forward");
  }
}
