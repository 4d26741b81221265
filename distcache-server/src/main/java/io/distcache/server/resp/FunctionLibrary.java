package io.distcache.server.resp;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/*
 * Design: one function library as FUNCTION LOAD accepted it: its name and code (what FUNCTION DUMP
 * saves and what an FCALL ships to its key's owner) and the functions its top-level code
 * registered, with their descriptions and flags (what FUNCTION LIST shows and what FCALL and
 * FCALL_RO check before they send anything). The callbacks themselves live in the Lua engine that
 * loaded the library (FunctionLoader), never here: this record crosses threads.
 *
 * The first line is Redis 7's metadata, "#!<engine> name=<library>", parsed here with Redis's
 * checks and texts in Redis's order: the line itself, its name= fields, the name's characters,
 * the engine.
 */

/** A loaded function library's name, code and functions. */
record FunctionLibrary(String name, byte[] code, Map<String, Function> functions) {
  /** The one engine, as FUNCTION LIST and FUNCTION STATS name it. */
  static final String ENGINE = "LUA";
  /** Functions one library may register. */
  static final int MAX_FUNCTIONS = 1_000;
  static final String BAD_NAME =
      "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

  /** A registered function: its description (null when none was given) and flag bits (LuaEngine.FUNCTION_FLAGS). */
  record Function(String name, String description, int flags) {
    boolean noWrites() {
      return (flags & 1) != 0;
    }

    boolean noCluster() {
      return (flags & 1 << LuaEngine.FUNCTION_FLAGS.indexOf("no-cluster")) != 0;
    }

    /** The flag names, in Redis's order. */
    List<String> flagNames() {
      List<String> out = new java.util.ArrayList<>();
      for (int i = 0; i < LuaEngine.FUNCTION_FLAGS.size(); i++) {
        if ((flags & 1 << i) != 0) {
          out.add(LuaEngine.FUNCTION_FLAGS.get(i));
        }
      }
      return out;
    }
  }

  /**
   * The library name of {@code code}'s metadata line; CommandException with Redis's text when the
   * line is missing or malformed, names no library, names an engine other than Lua, or a name with
   * other characters than letters, digits and underscores.
   */
  static String parseName(byte[] code) {
    if (code.length < 2 || code[0] != '#' || code[1] != '!') {
      throw new CommandException("ERR Missing library metadata");
    }
    int end = 0;
    while (end < code.length && code[end] != '\n') {
      end++;
    }
    String line = new String(code, 2, end - 2, StandardCharsets.UTF_8);
    if (line.endsWith("\r")) {
      line = line.substring(0, line.length() - 1);
    }
    String[] parts = line.split(" ");
    String engine = parts[0];
    String name = null;
    for (int i = 1; i < parts.length; i++) {
      if (parts[i].isEmpty()) {
        continue;
      }
      if (!parts[i].startsWith("name=")) {
        throw new CommandException("ERR Invalid metadata value given: " + parts[i]);
      }
      if (name != null) {
        throw new CommandException("ERR Invalid metadata value, name argument was given multiple times");
      }
      name = parts[i].substring(5);
    }
    if (name == null) {
      throw new CommandException("ERR Library name was not given");
    }
    if (!validName(name)) {
      throw new CommandException("ERR " + BAD_NAME);
    }
    if (!engine.equalsIgnoreCase("lua")) {
      throw new CommandException("ERR Engine '" + engine + "' not found");
    }
    return name;
  }

  /** Redis's rule for library and function names: letters, digits, underscores, at least one. */
  static boolean validName(String name) {
    if (name.isEmpty()) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_')) {
        return false;
      }
    }
    return true;
  }
}
