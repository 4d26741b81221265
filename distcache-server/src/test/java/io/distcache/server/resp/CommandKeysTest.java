package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** COMMAND GETKEYS and GETKEYSANDFLAGS against the replies Redis documents. */
class CommandKeysTest {
  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(16L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final RespChannel resp = new RespChannel(new LocalRouter(new LocalExecutor(store)), store, clock);

  @AfterEach
  void tearDown() {
    resp.close();
    store.close();
  }

  @Test
  void getkeys_documentedExamples() {
    // Redis's documented examples: MSET's keys every other argument, EVAL's its numkeys.
    assertThat(resp.send("COMMAND GETKEYS MSET a b c d e f"))
        .isEqualTo("*3\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\ne\r\n");
    assertThat(resp.send("COMMAND GETKEYS EVAL not-consulted 3 key1 key2 key3 arg1 arg2 arg3 argN"))
        .isEqualTo("*3\r\n$4\r\nkey1\r\n$4\r\nkey2\r\n$4\r\nkey3\r\n");
    assertThat(resp.send("COMMAND GETKEYS get k", "COMMAND GETKEYS DEL a b c", "COMMAND GETKEYS RENAME a b"))
        .isEqualTo("*1\r\n$1\r\nk\r\n" + "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n" + "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    assertThat(resp.send("COMMAND GETKEYS FCALL f 2 {t}a {t}b x", "COMMAND GETKEYS EVALSHA_RO sha 1 k v"))
        .isEqualTo("*2\r\n$4\r\n{t}a\r\n$4\r\n{t}b\r\n" + "*1\r\n$1\r\nk\r\n");
    // SINTERCARD's keys are counted by numkeys, LIMIT and its value are not keys.
    assertThat(resp.send("COMMAND GETKEYS SINTERCARD 2 a b LIMIT 5"))
        .isEqualTo("*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    // BITOP's keys start after the operation.
    assertThat(resp.send("COMMAND GETKEYS BITOP AND d s1 s2"))
        .isEqualTo("*3\r\n$1\r\nd\r\n$2\r\ns1\r\n$2\r\ns2\r\n");
  }

  @Test
  void getkeys_noKeys_emptyForScripts() {
    // EVAL and FCALL may run without keys (no_mandatory_keys): Redis answers an empty array.
    assertThat(resp.send("COMMAND GETKEYS EVAL script 0", "COMMAND GETKEYS FCALL_RO f 0 a"))
        .isEqualTo("*0\r\n*0\r\n");
  }

  @Test
  void getkeys_redisErrors() {
    assertThat(resp.send("COMMAND GETKEYS nosuch k")).isEqualTo("-ERR Invalid command specified\r\n");
    assertThat(resp.send("COMMAND GETKEYS CLIENT nosuch")).isEqualTo("-ERR Invalid command specified\r\n");
    assertThat(resp.send("COMMAND GETKEYS PING")).isEqualTo("-ERR The command has no key arguments\r\n");
    assertThat(resp.send("COMMAND GETKEYS CLIENT LIST")).isEqualTo("-ERR The command has no key arguments\r\n");
    // Redis checks for key positions before the arity.
    assertThat(resp.send("COMMAND GETKEYS PING a b c")).isEqualTo("-ERR The command has no key arguments\r\n");
    assertThat(resp.send("COMMAND GETKEYS GET")).isEqualTo("-ERR Invalid number of arguments specified for command\r\n");
    assertThat(resp.send("COMMAND GETKEYS GET a b")).isEqualTo("-ERR Invalid number of arguments specified for command\r\n");
    assertThat(resp.send("COMMAND GETKEYS EVAL s")).isEqualTo("-ERR Invalid number of arguments specified for command\r\n");
    // A numkeys EVAL cannot use gives no keys, and EVAL may have none: an empty array (7.0.15).
    assertThat(resp.send("COMMAND GETKEYS EVAL s 2 onlyone", "COMMAND GETKEYS EVAL s -1", "COMMAND GETKEYS EVAL s x",
        "COMMAND GETKEYS FCALL f 3 a")).isEqualTo("*0\r\n".repeat(4));
    assertThat(resp.send("COMMAND GETKEYS", "COMMAND GETKEYSANDFLAGS"))
        .isEqualTo("-ERR wrong number of arguments for 'command|getkeys' command\r\n"
            + "-ERR wrong number of arguments for 'command|getkeysandflags' command\r\n");
  }

  @Test
  void getkeys_numkeysCommands_countBeyondTheKeysGiven_redisError() {
    // Redis answers an error when numkeys is not 1..the arguments after it (checked with 7.0.15).
    String invalid = "-ERR Invalid arguments specified for command\r\n";
    assertThat(resp.send("COMMAND GETKEYS ZUNION 3 a b", "COMMAND GETKEYS ZINTER 0 a", "COMMAND GETKEYS ZDIFF -1 a",
        "COMMAND GETKEYS ZUNIONSTORE d 2 a", "COMMAND GETKEYS SINTERCARD 2 a", "COMMAND GETKEYS ZINTERCARD x a",
        "COMMAND GETKEYS ZMPOP 3 a MIN", "COMMAND GETKEYS BZMPOP 0 4 a b MIN")).isEqualTo(invalid.repeat(8));
    // A count within the arguments names that many keys, whatever follows them.
    assertThat(resp.send("COMMAND GETKEYS ZUNION 1 a b", "COMMAND GETKEYS ZINTERSTORE d 2 a b WEIGHTS 1 2",
        "COMMAND GETKEYS BZMPOP 0 2 a b MIN"))
        .isEqualTo("*1\r\n$1\r\na\r\n" + "*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n"
            + "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    // Redis falls back to C's atoi for a count it cannot parse or use: "2x" is 2, " 1" and "+1" are 1,
    // and 4294967297 wraps to 1 as an int.
    assertThat(resp.send("COMMAND GETKEYS ZUNION 2x a b", "COMMAND GETKEYS EVAL s 1x k", "COMMAND GETKEYS ZUNION +1 k",
        "COMMAND GETKEYS ZUNION 4294967297 k", "COMMAND GETKEYS ZUNION 99999999999 k"))
        .isEqualTo("*2\r\n$1\r\na\r\n$1\r\nb\r\n" + "*1\r\n$1\r\nk\r\n".repeat(3)
            + "-ERR Invalid arguments specified for command\r\n");
  }

  @Test
  void atoi_asC() {
    assertThat(CommandKeys.atoi("42".getBytes())).isEqualTo(42);
    assertThat(CommandKeys.atoi(" \t-7z".getBytes())).isEqualTo(-7);
    assertThat(CommandKeys.atoi("x1".getBytes())).isZero();
    assertThat(CommandKeys.atoi("".getBytes())).isZero();
    assertThat(CommandKeys.atoi("99999999999999999999".getBytes())).as("LONG_MAX as an int").isEqualTo(-1);
    assertThat(CommandKeys.atoi("-99999999999999999999".getBytes())).as("LONG_MIN as an int").isZero();
  }

  @Test
  void getkeysandflags_pairs() {
    assertThat(resp.send("COMMAND GETKEYSANDFLAGS GET k"))
        .isEqualTo("*1\r\n*2\r\n$1\r\nk\r\n*1\r\n+RO\r\n");
    assertThat(resp.send("COMMAND GETKEYSANDFLAGS RENAME a b"))
        .isEqualTo("*2\r\n*2\r\n$1\r\na\r\n*1\r\n+RW\r\n*2\r\n$1\r\nb\r\n*1\r\n+RW\r\n");
    // The scripting commands carry Redis's own key flags.
    assertThat(resp.send("COMMAND GETKEYSANDFLAGS FCALL f 1 k"))
        .isEqualTo("*1\r\n*2\r\n$1\r\nk\r\n*3\r\n+RW\r\n+access\r\n+update\r\n");
    assertThat(resp.send("COMMAND GETKEYSANDFLAGS EVAL_RO s 1 k"))
        .isEqualTo("*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n");
    assertThat(resp.send("COMMAND GETKEYSANDFLAGS SPUBLISH ch m"))
        .isEqualTo("*1\r\n*2\r\n$2\r\nch\r\n*1\r\n+not_key\r\n");
  }

  @Test
  void everyMovableKeysCommand_isEvalShaped() {
    // GETKEYS reads a movable command's keys as EVAL's (numkeys at 2): a new movable command needs its own rule.
    for (CommandSpec spec : CommandTable.standard().all()) {
      if (CommandKeys.movable(spec)) {
        assertThat(spec.name()).isIn("eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro");
      }
    }
  }
}
