package io.distcache.server.security;

/** An ACL rule or file that cannot be applied; the message is Redis's wording for the problem. */
public final class AclException extends Exception {
  private final String rule;

  public AclException(String rule, String message) {
    super(message);
    this.rule = rule;
  }

  /** The rule (modifier) at fault, or null for a problem not tied to one. */
  public String rule() {
    return rule;
  }
}
