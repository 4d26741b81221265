package io.distcache.server.resp;

import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.VarArgFunction;

/*
 * Design: the base functions whose behaviour scripts see differently in LuaJ 3.0.1 than in
 * Redis's Lua 5.1, replacing LuaJ's in the script globals.
 *
 * - tostring and tonumber: numbers as "%.14g" and strings read as strtod does (LuaNumbers).
 * - error and assert: Lua 5.1 prefixes a string (or number) message with the position of the
 *   function at the given level ("user_script:3: boom"; level 0, or a level that is no Lua
 *   function, adds nothing; level 1 is the function that called error). LuaJ keeps the message
 *   bare and adds its own "@user_script:3 " and a Java stack traceback when the error passes a
 *   frame, which is what pcall returned. The error raised here carries its exact value and the
 *   line the script was at (LuaEngine.ScriptError), so pcall returns that value and an uncaught
 *   error's reply names that line ("... script: SHA, on @user_script:3.").
 * - pcall: Redis 7.0 replaces Lua's pcall with one that returns the err field of an error table
 *   (what redis.call raises) instead of the table, so pcall(redis.call, ...) gives false and
 *   "WRONGTYPE ...". Any other error value is returned as raised. Called with nothing it answers
 *   as Redis's does ("attempt to call a boolean value": its placeholder is what gets called).
 * - xpcall: Lua 5.1's, the handler given the error's value (not LuaJ's positioned text). The
 *   handler runs after the stack has unwound, not at the error: scripts have no debug library to
 *   see the difference. An error inside the handler gives "error in error handling", as Lua 5.1.
 *
 * pcall and xpcall mark a Java frame with the engine's hook while they run, so that error levels
 * that reach them are no Lua function (pcall(error, "x") gives "x", as in Lua 5.1). Both catch
 * what LuaJ's pcall caught (LuaError and other runtime exceptions), never an Error: a killed or
 * over-budget script still stops at its next instruction, as before.
 */

/** Lua 5.1's tostring, tonumber, error, assert, pcall and xpcall for the script globals. */
final class LuaBase {
  /** What the functions need of the engine. */
  interface Host {
    /** The line of the Lua function at {@code level} (1: the innermost), 0 when that is no Lua function. */
    int lineAt(int level);

    /** The chunk name errors carry: user_script or user_function. */
    String chunk();

    void enterJava();

    void exitJava();
  }

  private static final LuaString ERR = LuaValue.valueOf("err");
  private final Host host;

  LuaBase(Host host) {
    this.host = host;
  }

  /** Installs the functions in {@code globals}, over LuaJ's. */
  void install(LuaTable globals) {
    LuaValue tostring = globals.get("tostring");
    globals.rawset("tostring", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        return a.arg1().type() == LuaValue.TNUMBER ? LuaNumbers.asString(a.arg1()) : tostring.invoke(a);
      }
    });
    LuaValue tonumber = globals.get("tonumber");
    globals.rawset("tonumber", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        if (a.isnoneornil(2) || a.arg(2).todouble() == 10) {
          if (a.narg() == 0) {
            throw libraryError(1, "bad argument #1 to 'tonumber' (value expected)");
          }
          LuaValue v = a.arg1();
          if (v.type() == LuaValue.TNUMBER) {
            return v;
          }
          Double d = v.type() == LuaValue.TSTRING ? LuaNumbers.parse((LuaString) v) : null;
          return d == null ? LuaValue.NIL : LuaValue.valueOf(d);
        }
        return tonumber.invoke(a);
      }
    });
    globals.rawset("error", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        LuaValue message = a.arg1();
        int level = a.optint(2, 1);
        if (message.isstring() && level > 0) {
          message = LuaValue.valueOf(position(level) + LuaNumbers.display(message));
        }
        throw new LuaEngine.ScriptError(message, host.chunk(), host.lineAt(1));
      }
    });
    globals.rawset("assert", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        if (a.arg1().toboolean()) {
          return a;
        }
        LuaValue m = a.arg(2);
        if (!m.isnil() && !m.isstring()) {
          throw libraryError(1, "bad argument #2 to 'assert' (string expected, got " + m.typename() + ")");
        }
        throw libraryError(1, m.isnil() ? "assertion failed!" : LuaNumbers.display(m));
      }
    });
    globals.rawset("pcall", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        if (a.narg() == 0) {
          return LuaValue.varargsOf(LuaValue.FALSE, LuaValue.valueOf("attempt to call a boolean value"));
        }
        LuaValue f = a.arg1();
        if (!callable(f)) {
          return LuaValue.varargsOf(LuaValue.FALSE, LuaValue.valueOf("attempt to call a " + f.typename() + " value"));
        }
        host.enterJava();
        try {
          return LuaValue.varargsOf(LuaValue.TRUE, f.invoke(a.subargs(2)));
        } catch (LuaError e) {
          LuaValue v = LuaEngine.errorValue(e);
          if (v.istable()) {
            LuaValue err = v.get(ERR);
            if (err.isstring()) {
              v = err;
            }
          }
          return LuaValue.varargsOf(LuaValue.FALSE, v);
        } catch (RuntimeException e) {
          return LuaValue.varargsOf(LuaValue.FALSE, LuaValue.valueOf(String.valueOf(e.getMessage())));
        } finally {
          host.exitJava();
        }
      }
    });
    globals.rawset("xpcall", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        LuaValue f = a.arg1();
        LuaValue handler = a.arg(2);
        host.enterJava();
        try {
          LuaValue failure;
          if (!callable(f)) {
            failure = LuaValue.valueOf("attempt to call a " + f.typename() + " value");
          } else {
            try {
              return LuaValue.varargsOf(LuaValue.TRUE, f.invoke(LuaValue.NONE));
            } catch (LuaError e) {
              failure = LuaEngine.errorValue(e);
            } catch (RuntimeException e) {
              failure = LuaValue.valueOf(String.valueOf(e.getMessage()));
            }
          }
          try {
            return LuaValue.varargsOf(LuaValue.FALSE, handler.call(failure));
          } catch (RuntimeException e) {
            return LuaValue.varargsOf(LuaValue.FALSE, LuaValue.valueOf("error in error handling"));
          }
        } finally {
          host.exitJava();
        }
      }
    });
  }

  private static boolean callable(LuaValue f) {
    if (f.isfunction()) {
      return true;
    }
    LuaValue meta = f.getmetatable();
    return meta != null && !meta.rawget(LuaValue.CALL).isnil();
  }

  /** "user_script:LINE: " for the Lua function at {@code level}, or nothing when that is none. */
  private String position(int level) {
    int line = host.lineAt(level);
    return line > 0 ? host.chunk() + ":" + line + ": " : "";
  }

  /** A library function's error, positioned as luaL_error positions it (at the function that called it). */
  LuaError libraryError(int level, String text) {
    return new LuaEngine.ScriptError(LuaValue.valueOf(position(level) + text), host.chunk(), host.lineAt(1));
  }
}
