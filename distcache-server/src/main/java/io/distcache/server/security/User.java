package io.distcache.server.security;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/*
 * Design: Redis's ACL user, built by applying rules in order (ACL SETUSER, the aclfile). A User
 * object is never changed once published: Users copies it, applies the rules to the copy and swaps
 * it in, so a connection checking a command on another thread sees either the old user or the new
 * one, never half of a SETUSER.
 *
 * Commands are kept twice: the rules as given (what ACL LIST and GETUSER show, "+@all -flushall",
 * in the order applied), and the set of full names they allow, which is what a command is checked
 * against (one hash lookup). A container allowed as a whole ("+client") allows each subcommand
 * ("client|list"); "-client|kill" removes one.
 */

/** One ACL user: whether enabled, password hashes, key and channel patterns, allowed commands. */
public final class User {
  private final String name;
  private boolean enabled;
  private boolean nopass;
  private final LinkedHashSet<String> passwords = new LinkedHashSet<>();
  private final List<KeyPattern> keys = new ArrayList<>();
  private final List<String> channels = new ArrayList<>();
  private boolean allChannels;
  private final List<String> commandRules = new ArrayList<>();
  private final Set<String> allowed = new HashSet<>();
  private boolean allCommands;

  private User(String name) {
    this.name = name;
  }

  /** A new user as Redis creates one: off, no password, no keys, no channels, no commands. */
  static User created(String name) {
    User u = new User(name);
    u.commandRules.add("-@all");
    return u;
  }

  User copy() {
    User u = new User(name);
    u.enabled = enabled;
    u.nopass = nopass;
    u.passwords.addAll(passwords);
    u.keys.addAll(keys);
    u.channels.addAll(channels);
    u.allChannels = allChannels;
    u.commandRules.addAll(commandRules);
    u.allowed.addAll(allowed);
    u.allCommands = allCommands;
    return u;
  }

  public String name() {
    return name;
  }

  public boolean enabled() {
    return enabled;
  }

  public boolean nopass() {
    return nopass;
  }

  /** True when every command, key and channel is allowed: the check can be skipped. */
  public boolean unrestricted() {
    return allCommands && allKeys() && allChannels;
  }

  /** True when every pub/sub channel is allowed (allchannels, or {@code &*}). */
  public boolean allChannels() {
    return allChannels;
  }

  /** The channel patterns of {@code &pattern} rules (empty with allchannels). */
  public List<String> channelPatterns() {
    return java.util.Collections.unmodifiableList(channels);
  }

  public boolean allKeys() {
    for (KeyPattern k : keys) {
      if (k.glob().equals("*") && k.read() && k.write()) {
        return true;
      }
    }
    return false;
  }

  public List<KeyPattern> keyPatterns() {
    return keys;
  }

  /** True when the command or subcommand {@code fullName} ("get", "client|list") may run. */
  public boolean allows(String fullName) {
    return allCommands || allowed.contains(fullName);
  }

  /** True when {@code password} is one of this user's, or the user needs none. */
  boolean accepts(byte[] password) {
    if (nopass) {
      return true;
    }
    String h = PasswordHash.of(password);
    boolean ok = false;
    for (String p : passwords) {
      ok |= PasswordHash.equal(p, h);
    }
    return ok;
  }

  /** Applies one rule (Redis's ACL SETUSER modifiers). */
  void apply(String rule, AclCatalog catalog) throws AclException {
    String lower = rule.toLowerCase(Locale.ROOT);
    switch (lower) {
      case "on" -> enabled = true;
      case "off" -> enabled = false;
      case "nopass" -> {
        nopass = true;
        passwords.clear();
      }
      case "resetpass" -> {
        nopass = false;
        passwords.clear();
      }
      case "allkeys" -> {
        keys.clear();
        keys.add(new KeyPattern("*", true, true));
      }
      case "resetkeys" -> keys.clear();
      case "allchannels" -> {
        channels.clear();
        allChannels = true;
      }
      case "resetchannels" -> {
        channels.clear();
        allChannels = false;
      }
      case "allcommands" -> commands("+@all", catalog);
      case "nocommands" -> commands("-@all", catalog);
      case "reset" -> {
        for (String r : List.of("resetpass", "resetkeys", "resetchannels", "off", "-@all")) {
          apply(r, catalog);
        }
      }
      default -> applyWithArgument(rule, catalog);
    }
  }

  private void applyWithArgument(String rule, AclCatalog catalog) throws AclException {
    char c = rule.isEmpty() ? ' ' : rule.charAt(0);
    if (c == '>') {
      passwords.add(PasswordHash.of(rule.substring(1)));
      nopass = false;
    } else if (c == '#') {
      String h = rule.substring(1);
      if (!PasswordHash.isHash(h)) {
        throw new AclException(rule,
            "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters");
      }
      passwords.add(h);
      nopass = false;
    } else if (c == '<') {
      if (!passwords.remove(PasswordHash.of(rule.substring(1)))) {
        throw new AclException(rule, "The password you are trying to remove from the user does not exist");
      }
    } else if (c == '!') {
      String h = rule.substring(1);
      if (!PasswordHash.isHash(h)) {
        throw new AclException(rule,
            "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters");
      }
      if (!passwords.remove(h)) {
        throw new AclException(rule, "The password you are trying to remove from the user does not exist");
      }
    } else if (c == '~') {
      addKeys(rule.substring(1), true, true);
    } else if (c == '%') {
      int tilde = rule.indexOf('~');
      String perms = tilde < 0 ? "" : rule.substring(1, tilde).toUpperCase(Locale.ROOT);
      boolean read = perms.indexOf('R') >= 0;
      boolean write = perms.indexOf('W') >= 0;
      if (tilde < 0 || perms.isEmpty() || !perms.replace("R", "").replace("W", "").isEmpty()) {
        throw new AclException(rule, "Syntax error");
      }
      addKeys(rule.substring(tilde + 1), read, write);
    } else if (c == '&') {
      if (rule.equals("&*")) {
        channels.clear();
        allChannels = true; // Redis: "&*" is allchannels
      } else if (!allChannels) {
        channels.add(rule.substring(1));
      }
    } else if (c == '+' || c == '-') {
      commands(rule, catalog);
    } else {
      throw new AclException(rule, "Syntax error");
    }
  }

  private void addKeys(String glob, boolean read, boolean write) {
    if (allKeys()) {
      return; // Redis: patterns after allkeys add nothing
    }
    keys.add(new KeyPattern(glob, read, write));
  }

  private void commands(String rule, AclCatalog catalog) throws AclException {
    boolean add = rule.charAt(0) == '+';
    String what = rule.substring(1).toLowerCase(Locale.ROOT);
    Collection<String> names;
    if (what.startsWith("@")) {
      String category = what.substring(1);
      if (category.equals("all")) {
        allCommands = add;
        allowed.clear();
        if (add) {
          allowed.addAll(catalog.allCommands());
        }
        commandRules.clear();
        commandRules.add(add ? "+@all" : "-@all");
        return;
      }
      names = catalog.commandsIn(category);
      if (names == null) {
        throw new AclException(rule, "Unknown command or category name in ACL");
      }
    } else {
      if (!catalog.knows(what)) {
        throw new AclException(rule, "Unknown command or category name in ACL");
      }
      List<String> all = new ArrayList<>();
      all.add(what);
      all.addAll(catalog.subcommandsOf(what));
      names = all;
    }
    if (add) {
      allowed.addAll(names);
    } else {
      allowed.removeAll(names);
      allCommands = false;
    }
    commandRules.add((add ? "+" : "-") + what);
  }

  /** The flags of ACL GETUSER. */
  public List<String> flags() {
    List<String> f = new ArrayList<>();
    f.add(enabled ? "on" : "off");
    if (nopass) {
      f.add("nopass");
    }
    return f;
  }

  public List<String> passwordHashes() {
    return List.copyOf(passwords);
  }

  public String commandsDescription() {
    return String.join(" ", commandRules);
  }

  public String keysDescription() {
    List<String> out = new ArrayList<>();
    for (KeyPattern k : keys) {
      out.add(k.rule());
    }
    return String.join(" ", out);
  }

  public String channelsDescription() {
    if (allChannels) {
      return "&*";
    }
    List<String> out = new ArrayList<>();
    for (String ch : channels) {
      out.add("&" + ch);
    }
    return String.join(" ", out);
  }

  /** The user as one ACL LIST / aclfile line; passwords only as their hashes. */
  public String describe() {
    StringBuilder sb = new StringBuilder("user ").append(name).append(enabled ? " on" : " off");
    if (nopass) {
      sb.append(" nopass");
    }
    for (String p : passwords) {
      sb.append(" #").append(p);
    }
    for (KeyPattern k : keys) {
      sb.append(' ').append(k.rule());
    }
    if (allChannels) {
      sb.append(" &*");
    } else if (channels.isEmpty()) {
      sb.append(" resetchannels");
    } else {
      for (String ch : channels) {
        sb.append(" &").append(ch);
      }
    }
    sb.append(' ').append(commandsDescription());
    return sb.toString();
  }
}
