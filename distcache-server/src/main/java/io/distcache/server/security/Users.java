package io.distcache.server.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.HashMap;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/*
 * Design: the node's ACL users, shared by both protocols and every connection. Reads (one per
 * command, to find the connection's user) take no lock: the map is replaced as a whole on every
 * change (copy-on-write; changes are rare: ACL SETUSER, DELUSER, LOAD), and a User is never changed
 * once in it. Changes are serialized on this object.
 *
 * The "default" user always exists: Redis's "on nopass ~* &* +@all" unless the aclfile says
 * otherwise; --requirepass gives it a password (Redis: "resetpass >password"), over the aclfile's at
 * start and at every ACL LOAD. A connection starts
 * authenticated as default when default needs no password and is enabled (Redis's rule).
 */

/** The ACL users of one node, the aclfile they come from, and the ACL LOG. */
public final class Users {
  public static final String DEFAULT = "default";

  private final AclCatalog catalog;
  private final Path aclFile;
  private final AclLog log;
  /**
   * "#" and the SHA-256 of --requirepass (or of the last CONFIG SET requirepass), or null: laid over
   * the default user at start and by every ACL LOAD. Written under this object's lock.
   */
  private volatile String requirePassRule;
  private volatile Map<String, User> byName;

  /**
   * @param aclFile where ACL LOAD and ACL SAVE read and write, or null
   * @param requirePass the default user's password, or null
   */
  public Users(AclCatalog catalog, Path aclFile, String requirePass, LongSupplier millis) {
    this.catalog = catalog;
    this.aclFile = aclFile;
    this.log = new AclLog(millis);
    Map<String, User> initial = new TreeMap<>();
    initial.put(DEFAULT, defaultUser());
    if (aclFile != null) {
      try {
        initial = parseFile(aclFile);
      } catch (AclException e) {
        throw new IllegalArgumentException(e.getMessage(), e);
      }
    }
    requirePassRule = requirePass == null ? null : "#" + PasswordHash.of(requirePass);
    byName = Collections.unmodifiableMap(new HashMap<>(withRequirePass(initial)));
  }

  /**
   * The default user of {@code users} with --requirepass's password in place of its own, when the
   * node was given one. At start and at every ACL LOAD alike: an aclfile whose default line says
   * {@code nopass} (the documented example does) took the password away at ACL LOAD while the start
   * had kept it, and the node was open to anyone (a tester). Redis ignores requirepass beside an
   * aclfile; a flag the operator gave is kept here instead, since dropping it opens the node.
   */
  private Map<String, User> withRequirePass(Map<String, User> users) {
    return requirePassRule == null ? users : withDefaultPassword(users, requirePassRule);
  }

  /** {@code users} with the default user's passwords replaced by {@code rule} ("#hash" or "nopass"). */
  private Map<String, User> withDefaultPassword(Map<String, User> users, String rule) {
    User d = users.get(DEFAULT).copy();
    try {
      d.apply("resetpass", catalog);
      d.apply(rule, catalog);
    } catch (AclException e) {
      throw new IllegalStateException("resetpass, nopass and a #hash rule cannot fail: " + e.getMessage(), e);
    }
    Map<String, User> out = new HashMap<>(users);
    out.put(DEFAULT, d);
    return out;
  }

  private User defaultUser() {
    User d = User.created(DEFAULT);
    try {
      for (String r : List.of("on", "nopass", "~*", "&*", "+@all")) {
        d.apply(r, catalog);
      }
    } catch (AclException e) {
      throw new IllegalStateException(e);
    }
    return d;
  }

  public AclLog log() {
    return log;
  }

  public AclCatalog catalog() {
    return catalog;
  }

  /** The user called {@code name}, or null. */
  public User get(String name) {
    return byName.get(name);
  }

  /** Users by name, in name order. */
  public List<User> all() {
    return List.copyOf(new TreeMap<>(byName).values());
  }

  /** True when a new connection must authenticate first (default needs a password or is off). */
  public boolean authRequired() {
    User d = byName.get(DEFAULT);
    return d == null || !d.nopass() || !d.enabled();
  }

  /** True when the default user has no password (protected mode's condition). */
  public boolean defaultHasNoPassword() {
    User d = byName.get(DEFAULT);
    return d != null && d.nopass();
  }

  /** The user when {@code password} is right for an enabled {@code name}; null otherwise (WRONGPASS). */
  public User authenticate(String name, byte[] password) {
    User u = byName.get(name);
    return u != null && u.enabled() && u.accepts(password) ? u : null;
  }

  /** ACL SETUSER: creates the user if needed and applies the rules in order, all or none. */
  public synchronized void setUser(String name, List<String> rules) throws AclException {
    User u = byName.get(name);
    u = u == null ? User.created(name) : u.copy();
    for (String r : rules) {
      u.apply(r, catalog);
    }
    Map<String, User> next = new HashMap<>(byName);
    next.put(name, u);
    byName = Collections.unmodifiableMap(next);
  }

  /**
   * CONFIG SET requirepass: the default user's passwords become just {@code password}, or none
   * ("nopass") when it is empty, as Redis applies {@code resetpass} then {@code >password} or
   * {@code nopass}; whether default is on, and its keys and commands, are left as they are. Only
   * the hash is kept.
   */
  public synchronized void setDefaultPassword(byte[] password) {
    // The hash of the bytes as sent, as AUTH hashes them: a ">" rule would take them as UTF-8 text.
    String rule = password.length == 0 ? null : "#" + PasswordHash.of(password);
    byName = Collections.unmodifiableMap(withDefaultPassword(byName, rule == null ? "nopass" : rule));
    // It replaces --requirepass for the node's life: an ACL LOAD must not bring the old one back.
    requirePassRule = rule;
  }

  /** ACL DELUSER: the number removed; default cannot be. */
  public synchronized int delete(List<String> names) throws AclException {
    if (names.contains(DEFAULT)) {
      throw new AclException(null, "The 'default' user cannot be removed");
    }
    Map<String, User> next = new HashMap<>(byName);
    int n = 0;
    for (String name : names) {
      if (next.remove(name) != null) {
        n++;
      }
    }
    byName = Collections.unmodifiableMap(next);
    return n;
  }

  public boolean hasAclFile() {
    return aclFile != null;
  }

  /** ACL LOAD: replaces every user with the file's, or changes nothing when the file has an error. */
  public synchronized void load() throws AclException {
    byName = Collections.unmodifiableMap(new HashMap<>(withRequirePass(parseFile(aclFile))));
  }

  /** ACL SAVE: writes every user to the aclfile (a temporary file renamed over it). */
  public synchronized void save() {
    StringBuilder sb = new StringBuilder();
    for (User u : all()) {
      sb.append(u.describe()).append('\n');
    }
    try {
      Path tmp = aclFile.resolveSibling(aclFile.getFileName() + ".tmp");
      Files.writeString(tmp, sb.toString(), StandardCharsets.UTF_8);
      Files.move(tmp, aclFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the ACL file " + aclFile + ": " + e.getMessage(), e);
    }
  }

  /** Redis's aclfile: one "user NAME RULE..." per line; blank lines ignored; default added if absent. */
  private Map<String, User> parseFile(Path file) throws AclException {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new AclException(null, "cannot read the ACL file " + file + ": " + e.getMessage());
    }
    Map<String, User> users = new TreeMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).trim();
      if (line.isEmpty()) {
        continue;
      }
      String where = file + ":" + (i + 1) + ": ";
      String[] parts = line.split("\\s+");
      if (!parts[0].equals("user") || parts.length < 2) {
        throw new AclException(null, where + "should start with user keyword");
      }
      String name = parts[1];
      if (users.containsKey(name)) {
        throw new AclException(null, where + "Duplicate user '" + name + "' found");
      }
      User u = User.created(name);
      for (int j = 2; j < parts.length; j++) {
        try {
          u.apply(parts[j], catalog);
        } catch (AclException e) {
          // The rule is named, never a password: a ">secret" rule cannot fail.
          throw new AclException(parts[j], where + "Error in applying operation '" + parts[j] + "': " + e.getMessage());
        }
      }
      users.put(name, u);
    }
    users.putIfAbsent(DEFAULT, defaultUser());
    return users;
  }

  /** Every user's line, for ACL LIST. */
  public List<String> describeAll() {
    List<String> out = new ArrayList<>();
    for (User u : all()) {
      out.add(u.describe());
    }
    return out;
  }
}
