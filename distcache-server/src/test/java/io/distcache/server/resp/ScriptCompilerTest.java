package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class ScriptCompilerTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Takes the compiler's thread until {@code release} opens (stands in for a long compile). */
  static CompletableFuture<Object> occupy(ScriptCompiler compiler, CountDownLatch release) {
    return compiler.onThread(() -> {
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return null;
    });
  }

  private static String error(CompletableFuture<?> f) {
    assertThat(f).isCompletedExceptionally();
    try {
      f.join();
      throw new AssertionError("no error");
    } catch (CompletionException e) {
      return e.getCause().getMessage();
    }
  }

  @Test
  void load_cachedBody_completeAtOnce() {
    ScriptCache cache = new ScriptCache();
    ScriptCache.Script known = cache.load(b("return 1"));
    CompletableFuture<ScriptCache.Script> f = new ScriptCompiler().load(cache, b("return 1"));
    assertThat(f).isCompletedWithValue(known);
  }

  @Test
  void load_newBody_compiledOnTheCompilersThreadAndCached() {
    ScriptCache cache = new ScriptCache();
    ScriptCompiler compiler = new ScriptCompiler();
    CountDownLatch release = new CountDownLatch(1);
    CompletableFuture<Object> busy = occupy(compiler, release);
    CompletableFuture<ScriptCache.Script> f = compiler.load(cache, b("return 2"));
    assertThat(f).isNotDone();
    assertThat(compiler.waitingBytes()).isEqualTo(8);
    release.countDown();
    busy.join();
    assertThat(f.join().sha()).isEqualTo(ScriptCache.sha1Hex(b("return 2")));
    assertThat(cache.contains(f.join().sha())).isTrue();
    assertThat(compiler.waitingBytes()).isZero();
  }

  @Test
  void load_compileError_failsWithRedisText() {
    CompletableFuture<ScriptCache.Script> f = new ScriptCompiler().load(new ScriptCache(), b("return +"));
    assertThat(f).failsWithin(java.time.Duration.ofSeconds(10));
    assertThat(error(f)).startsWith("ERR Error compiling script (new function): user_script:1:");
  }

  @Test
  void load_overTheWaitingBounds_refusedNamingThem_andFreedOnceCompiled() {
    ScriptCache cache = new ScriptCache();
    ScriptCompiler compiler = new ScriptCompiler(20, 2);
    CountDownLatch release = new CountDownLatch(1);
    CompletableFuture<Object> busy = occupy(compiler, release);
    CompletableFuture<ScriptCache.Script> first = compiler.load(cache, b("return 11"));
    // Over the bytes: 9 + 17 > 20.
    assertThat(error(compiler.load(cache, b("return 1234567890")))).isEqualTo("ERR 1 scripts of 9 bytes already wait"
        + " to be compiled on this node; one more of 17 bytes is over the limit of 2 scripts or 20 bytes (try again"
        + " once they are done)");
    CompletableFuture<ScriptCache.Script> second = compiler.load(cache, b("return 1"));
    // Over the count: 2 wait.
    assertThat(error(compiler.load(cache, b("return 3")))).startsWith("ERR 2 scripts of 17 bytes already wait");
    release.countDown();
    busy.join();
    assertThat(first.join().sha()).isEqualTo(ScriptCache.sha1Hex(b("return 11")));
    assertThat(second.join().sha()).isEqualTo(ScriptCache.sha1Hex(b("return 1")));
    assertThat(compiler.waitingBytes()).isZero();
    assertThat(compiler.load(cache, b("return 3")).join().sha()).isEqualTo(ScriptCache.sha1Hex(b("return 3")));
  }

  @Test
  void load_withinTheWaitingBounds_pastTheNodesHeapBudgets_isRefusedNamingTheSharedLimit_andGivenBackOnceCompiled() {
    ScriptCache cache = new ScriptCache();
    io.distcache.server.HeapBudgets heap = new io.distcache.server.HeapBudgets(100);
    ScriptCompiler compiler = new ScriptCompiler(1 << 20, 16, null, heap);
    CountDownLatch release = new CountDownLatch(1);
    CompletableFuture<Object> busy = occupy(compiler, release);
    heap.take(85); // another budget's bytes
    CompletableFuture<ScriptCache.Script> first = compiler.load(cache, b("return 11"));
    assertThat(heap.usedBytes()).isEqualTo(94);
    assertThat(error(compiler.load(cache, b("return 1234567890")))).isEqualTo("ERR a script of 17 bytes waiting to be"
        + " compiled would pass 100 bytes, the node's limit on what its heap budgets hold together (94 held)"
        + " (try again later)");
    assertThat(compiler.waitingBytes()).as("a refusal changes neither total").isEqualTo(9);
    release.countDown();
    busy.join();
    first.join();
    assertThat(compiler.waitingBytes()).isZero();
    assertThat(heap.usedBytes()).isEqualTo(85);
  }

  @Test
  void load_bodyOverThePerScriptLimit_refusedAtOnce() {
    ScriptCache cache = new ScriptCache(10, 1 << 20, 8);
    assertThat(error(new ScriptCompiler().load(cache, b("return 123"))))
        .isEqualTo("ERR script of 10 bytes is over the limit of 8 bytes per script");
  }
}
