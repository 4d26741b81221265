package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The script cache: SHA1 names, compile errors, shebang flags, and both bounds. */
class ScriptCacheTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void load_namesScriptsBySha1_andCompilesOnce() {
    ScriptCache cache = new ScriptCache();
    ScriptCache.Script s = cache.load(b("return 1"));
    assertThat(s.sha()).isEqualTo("e0e1f9fabfc9d4800c877a703b823ac0578ff8db"); // Redis's SCRIPT LOAD "return 1"
    assertThat(cache.load(b("return 1"))).isSameAs(s);
    assertThat(cache.get("E0E1F9FABFC9D4800C877A703B823AC0578FF8DB")).isSameAs(s);
    assertThat(cache.size()).isEqualTo(1);
  }

  @Test
  void load_compileError_redisText_andNothingCached() {
    ScriptCache cache = new ScriptCache();
    assertThatThrownBy(() -> cache.load(b("return +"))).isInstanceOf(CommandException.class)
        .hasMessageStartingWith("ERR Error compiling script (new function): user_script:1:");
    assertThat(cache.size()).isZero();
  }

  @Test
  void shebang_noWrites_andUnknownFlagsRefused() {
    ScriptCache cache = new ScriptCache();
    assertThat(cache.load(b("#!lua flags=no-writes,allow-stale\nreturn 1")).noWrites()).isTrue();
    assertThat(cache.load(b("#!lua\nreturn 1")).noWrites()).isFalse();
    assertThatThrownBy(() -> cache.load(b("#!lua flags=bogus\nreturn 1")))
        .hasMessage("ERR Unexpected flag in script shebang: bogus");
    assertThatThrownBy(() -> cache.load(b("#!python\nreturn 1"))).hasMessage("ERR Unexpected engine in script shebang: python");
  }

  @Test
  void bounds_leastRecentlyUsedOut_byCountAndByBytes() {
    ScriptCache byCount = new ScriptCache(3, 1 << 20);
    String a = byCount.load(b("return 'a'")).sha();
    String bSha = byCount.load(b("return 'b'")).sha();
    byCount.load(b("return 'c'"));
    byCount.get(a); // a is now the most recently used
    byCount.load(b("return 'd'"));
    assertThat(byCount.size()).isEqualTo(3);
    assertThat(byCount.contains(a)).isTrue();
    assertThat(byCount.contains(bSha)).isFalse();

    ScriptCache byBytes = new ScriptCache(1000, 2000);
    for (int i = 0; i < 20; i++) {
      byBytes.load(b("return " + "'" + "x".repeat(20) + i + "'"));
    }
    assertThat(byBytes.heldBytes()).isLessThanOrEqualTo(2000);
    assertThat(byBytes.size()).isBetween(1, 19);
  }

  @Test
  void load_bodyOverThePerScriptLimit_isRefusedNamingIt() {
    ScriptCache cache = new ScriptCache(1000, 1 << 20, 1024);
    assertThatThrownBy(() -> cache.load(b("return '" + "x".repeat(1100) + "'")))
        .isInstanceOf(CommandException.class).hasMessage("ERR script of 1109 bytes is over the limit of 1024 bytes per script");
    assertThat(cache.size()).isZero();
    assertThat(cache.load(b("return 1")).sha()).isEqualTo("e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  }

  @Test
  void load_manyTinyFunctions_countsTheirCompiledCode_overTheCacheIsRefused() {
    byte[] closures = b("f=function()end ".repeat(2000));
    ScriptCache.Script compiled = new ScriptCache().load(closures);
    // 2,000 functions: their compiled code is many times the 32,000-byte body.
    assertThat(compiled.heapBytes()).isGreaterThan(5L * closures.length);
    ScriptCache small = new ScriptCache(1000, 4L * closures.length);
    assertThatThrownBy(() -> small.load(closures)).isInstanceOf(CommandException.class)
        .hasMessageStartingWith("ERR script compiles to about " + compiled.heapBytes() + " bytes of heap with its body,"
            + " over the script cache's limit of " + 4L * closures.length + " bytes");
    assertThat(small.size()).isZero();
    assertThat(small.load(b("return 1")).heapBytes()).isLessThan(1000);
  }
}
