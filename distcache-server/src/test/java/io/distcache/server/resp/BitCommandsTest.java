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

/** The bit commands with the replies and errors of Redis's command pages, on one node. */
class BitCommandsTest {
  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(64L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final RespChannel resp = new RespChannel(new LocalRouter(new LocalExecutor(store)), store, clock);

  @AfterEach
  void tearDown() {
    resp.close();
    store.close();
  }

  private String send(String... commands) {
    return resp.send(commands);
  }

  @Test
  void setbitGetbit() {
    assertThat(send("SETBIT mykey 7 1", "GETBIT mykey 0", "GETBIT mykey 7", "GETBIT mykey 100", "GET mykey"))
        .isEqualTo(":0\r\n:0\r\n:1\r\n:0\r\n$1\r\n\u0001\r\n");
    assertThat(send("SETBIT mykey 7 0", "SETBIT mykey 7 0", "GET mykey")).isEqualTo(":1\r\n:0\r\n$1\r\n\u0000\r\n");
    assertThat(send("SETBIT grow 23 1", "STRLEN grow")).isEqualTo(":0\r\n:3\r\n");
    assertThat(send("GETBIT missing 5")).isEqualTo(":0\r\n");
  }

  @Test
  void setbit_keepsTheExpiry() {
    send("SET t a EX 100");
    assertThat(send("SETBIT t 20 1", "TTL t")).isEqualTo(":0\r\n:100\r\n");
  }

  @Test
  void setbitGetbit_errors() {
    assertThat(send("SETBIT k -1 1")).isEqualTo("-ERR bit offset is not an integer or out of range\r\n");
    assertThat(send("SETBIT k x 1")).isEqualTo("-ERR bit offset is not an integer or out of range\r\n");
    assertThat(send("SETBIT k 0 2")).isEqualTo("-ERR bit is not an integer or out of range\r\n");
    assertThat(send("GETBIT k 8388608")).isEqualTo("-ERR bit offset is not an integer or out of range\r\n");
    assertThat(send("SETBIT k 8388607 1", "STRLEN k")).isEqualTo(":0\r\n:1048576\r\n");
    assertThat(send("SETBIT k 1")).isEqualTo("-ERR wrong number of arguments for 'setbit' command\r\n");
  }

  @Test
  void bitcount_redisExamples() {
    send("SET mykey foobar");
    assertThat(send("BITCOUNT mykey", "BITCOUNT mykey 0 0", "BITCOUNT mykey 1 1", "BITCOUNT mykey 1 1 BYTE",
        "BITCOUNT mykey 5 30 BIT", "BITCOUNT mykey -2 -1", "BITCOUNT mykey 4 2", "BITCOUNT missing"))
        .isEqualTo(":26\r\n:4\r\n:6\r\n:6\r\n:17\r\n:7\r\n:0\r\n:0\r\n");
    assertThat(send("BITCOUNT mykey 0")).isEqualTo("-ERR syntax error\r\n");
    assertThat(send("BITCOUNT mykey 0 1 WORD")).isEqualTo("-ERR syntax error\r\n");
    assertThat(send("BITCOUNT mykey a 1")).isEqualTo("-ERR value is not an integer or out of range\r\n");
  }

  @Test
  void bitpos_redisExamples() {
    resp.call(b("SET"), b("mykey"), new byte[] {(byte) 0xff, (byte) 0xf0, 0});
    assertThat(send("BITPOS mykey 0")).isEqualTo(":12\r\n");
    resp.call(b("SET"), b("mykey"), new byte[] {0, (byte) 0xff, (byte) 0xf0});
    assertThat(send("BITPOS mykey 1 0", "BITPOS mykey 1 2", "BITPOS mykey 1 2 -1 BYTE", "BITPOS mykey 1 7 15 BIT"))
        .isEqualTo(":8\r\n:16\r\n:16\r\n:8\r\n");
    resp.call(b("SET"), b("mykey"), new byte[] {0, 0, 0});
    assertThat(send("BITPOS mykey 1", "BITPOS mykey 1 7 -3 BIT")).isEqualTo(":-1\r\n:-1\r\n");
    resp.call(b("SET"), b("ones"), new byte[] {(byte) 0xff, (byte) 0xff});
    assertThat(send("BITPOS ones 0", "BITPOS ones 0 0 -1", "BITPOS missing 0", "BITPOS missing 1"))
        .as("no clear bit: past the end without an explicit end, -1 with one")
        .isEqualTo(":16\r\n:-1\r\n:0\r\n:-1\r\n");
    assertThat(send("BITPOS mykey 2")).isEqualTo("-ERR The bit argument must be 1 or 0.\r\n");
    assertThat(send("BITPOS mykey 1 0 1 BYTE x")).isEqualTo("-ERR syntax error\r\n");
  }

  @Test
  void bitop_redisExamples() {
    send("SET key1 foobar", "SET key2 abcdef");
    assertThat(send("BITOP AND dest key1 key2", "GET dest")).isEqualTo(":6\r\n$6\r\n`bc`ab\r\n");
    assertThat(send("BITOP OR dest key1 key2", "GET dest")).isEqualTo(":6\r\n$6\r\ngoofev\r\n");
    assertThat(send("BITOP XOR dest key1 missing", "GET dest")).isEqualTo(":6\r\n$6\r\nfoobar\r\n");
    resp.call(b("SET"), b("k"), new byte[] {0x0f});
    assertThat(send("BITOP NOT dest k", "STRLEN dest")).isEqualTo(":1\r\n:1\r\n");
    assertThat(store.get(b("dest"))).containsExactly((byte) 0xf0);
    send("SET dest x EX 100");
    assertThat(send("BITOP AND dest nope1 nope2", "EXISTS dest")).as("an empty result deletes the destination")
        .isEqualTo(":0\r\n:0\r\n");
    assertThat(send("BITOP NOT dest a b")).isEqualTo("-ERR BITOP NOT must be called with a single source key.\r\n");
    assertThat(send("BITOP NAND dest a b")).isEqualTo("-ERR syntax error\r\n");
  }

  @Test
  void bitfield_redisExamples() {
    assertThat(send("BITFIELD mykey INCRBY i5 100 1 GET u4 0")).isEqualTo("*2\r\n:1\r\n:0\r\n");
    String cmd = "BITFIELD ov INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 1";
    assertThat(send(cmd)).isEqualTo("*2\r\n:1\r\n:1\r\n");
    assertThat(send(cmd)).isEqualTo("*2\r\n:2\r\n:2\r\n");
    assertThat(send(cmd)).isEqualTo("*2\r\n:3\r\n:3\r\n");
    assertThat(send(cmd)).isEqualTo("*2\r\n:0\r\n:3\r\n");
    assertThat(send("BITFIELD ov OVERFLOW FAIL INCRBY u2 102 1")).isEqualTo("*1\r\n$-1\r\n");
    assertThat(send("BITFIELD s SET i8 0 -100 GET i8 0 GET u8 0 SET u8 #1 255 GET u8 8"))
        .isEqualTo("*5\r\n:0\r\n:-100\r\n:156\r\n:0\r\n:255\r\n");
    assertThat(send("BITFIELD w SET i8 0 200 GET i8 0")).as("SET wraps like INCRBY").isEqualTo("*2\r\n:0\r\n:-56\r\n");
    assertThat(send("BITFIELD sat OVERFLOW SAT SET i8 0 200 GET i8 0 INCRBY i8 0 -300")).isEqualTo(
        "*3\r\n:0\r\n:127\r\n:-128\r\n");
    assertThat(send("BITFIELD big SET i64 0 -1 INCRBY i64 0 1 GET u63 0")).isEqualTo("*3\r\n:0\r\n:0\r\n:0\r\n");
    assertThat(send("BITFIELD_RO s GET i8 0 GET u4 #1", "BITFIELD_RO missing GET u8 0", "BITFIELD nokey"))
        .isEqualTo("*2\r\n:-100\r\n:12\r\n*1\r\n:0\r\n*0\r\n");
    assertThat(send("EXISTS missing")).isEqualTo(":0\r\n");
  }

  @Test
  void bitfield_overflowFailOnAMissingKey_createsItZeroFilled_asRedis() {
    // redis-server 7.0.15: the value is made long enough for the farthest SET or INCRBY before any
    // runs, so a key is created (or grown) even when FAIL refuses every write; GETs create nothing.
    assertThat(send("BITFIELD f OVERFLOW FAIL INCRBY u2 100 5", "EXISTS f", "STRLEN f", "BITCOUNT f"))
        .isEqualTo("*1\r\n$-1\r\n:1\r\n:13\r\n:0\r\n");
    assertThat(send("SET g a", "BITFIELD g OVERFLOW FAIL INCRBY u2 100 5", "STRLEN g"))
        .isEqualTo("+OK\r\n*1\r\n$-1\r\n:13\r\n");
    assertThat(send("BITFIELD g GET u8 0", "BITFIELD n GET u8 100", "EXISTS n"))
        .isEqualTo("*1\r\n:97\r\n*1\r\n:0\r\n:0\r\n");
  }

  @Test
  void bitfield_errors() {
    String type = "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";
    assertThat(send("BITFIELD k GET u64 0")).isEqualTo(type);
    assertThat(send("BITFIELD k GET i65 0")).isEqualTo(type);
    assertThat(send("BITFIELD k GET x8 0")).isEqualTo(type);
    assertThat(send("BITFIELD k GET u8 -1")).isEqualTo("-ERR bit offset is not an integer or out of range\r\n");
    assertThat(send("BITFIELD k OVERFLOW foo")).isEqualTo("-ERR Invalid OVERFLOW type specified\r\n");
    assertThat(send("BITFIELD k GET u8")).isEqualTo("-ERR syntax error\r\n");
    assertThat(send("BITFIELD k SET u8 0 x")).isEqualTo("-ERR value is not an integer or out of range\r\n");
    assertThat(send("BITFIELD_RO k SET u8 0 1")).isEqualTo("-ERR BITFIELD_RO only supports the GET subcommand\r\n");
    assertThat(send("EXISTS k")).isEqualTo(":0\r\n");
  }

  @Test
  void bitsInsideATransaction() {
    assertThat(send("MULTI", "SETBIT t 1 1", "BITCOUNT t", "BITFIELD t INCRBY u8 0 1", "EXEC")).isEqualTo(
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n:0\r\n:1\r\n*1\r\n:65\r\n");
  }

  @Test
  void aLargeValue_rangesFromTheEnd_andWritesInPlaceKeepTheExpiry() {
    // 200,000 bytes: a buffer of its own, which SETBIT and BITFIELD change in place (setRange)
    byte[] v = new byte[200_000];
    v[0] = (byte) 0x80;
    v[199_999] = 0x01; // bit 1,599,999, the last
    resp.call(b("SET"), b("big"), v);
    send("EXPIRE big 100");
    assertThat(send("BITCOUNT big", "BITCOUNT big -1 -1", "BITCOUNT big -8 -1 BIT", "BITCOUNT big -2 -2 BIT",
        "BITCOUNT big 5 2", "BITCOUNT big -300000 0"))
        .isEqualTo(":2\r\n:1\r\n:1\r\n:0\r\n:0\r\n:1\r\n");
    assertThat(send("BITPOS big 1 -1", "BITPOS big 1 -3 -1 BIT", "BITPOS big 0 -1 -1 BIT", "BITPOS big 1 1 -2",
        "BITPOS big 0", "BITPOS big 1 1", "BITPOS big 1 -2 -3"))
        .isEqualTo(":1599999\r\n:1599999\r\n:-1\r\n:-1\r\n:1\r\n:1599999\r\n:-1\r\n");

    assertThat(send("SETBIT big 1599999 1", "SETBIT big 1600005 1", "STRLEN big", "TTL big"))
        .as("no change, then a growth by one byte").isEqualTo(":1\r\n:0\r\n:200001\r\n:100\r\n");
    assertThat(send("BITFIELD big OVERFLOW FAIL INCRBY u8 1600100 300", "STRLEN big", "TTL big"))
        .as("grown to the farthest field though FAIL refused it").isEqualTo("*1\r\n$-1\r\n:200014\r\n:100\r\n");
    // i16 from bit 1,599,999: 1, then byte 200,000 (0x04) less its last bit, then zeros: 0x8200
    assertThat(send("BITFIELD big SET u4 1599996 15 GET u8 1599992 INCRBY i16 1599999 -1", "GETRANGE big -15 -13",
        "BITCOUNT big -15 -1", "TTL big"))
        .isEqualTo("*3\r\n:1\r\n:15\r\n:-32257\r\n$3\r\n\u000f\u0003\u00fe\r\n:13\r\n:100\r\n");
    assertThat(send("SETBIT fresh 1000000 0", "STRLEN fresh", "TTL fresh", "BITCOUNT fresh"))
        .as("a missing key created, bit 0 or not").isEqualTo(":0\r\n:125001\r\n:-1\r\n:0\r\n");
  }

  @Test
  void bitfield_keepsTheExpiry_andGrowsUnderFail() {
    send("SET t ab EX 100");
    assertThat(send("BITFIELD t SET u8 0 99 OVERFLOW FAIL INCRBY u2 40 9", "GET t", "TTL t"))
        .isEqualTo("*2\r\n:97\r\n$-1\r\n$6\r\ncb\u0000\u0000\u0000\u0000\r\n:100\r\n");
  }

  @Test
  void everyBitCommand_refusesAKeyOfAnotherType_andChangesNothing() {
    String wrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    send("HSET l f a");
    for (String c : new String[] {"SETBIT l 0 1", "GETBIT l 0", "BITFIELD l SET u8 0 1", "BITFIELD l GET u8 0",
        "BITFIELD_RO l GET u8 0", "BITCOUNT l", "BITCOUNT l 0 -1 BIT", "BITPOS l 1", "BITPOS l 0 0 -1 BIT",
        "BITOP OR d l", "BITOP AND d missing l", "BITOP NOT d l"}) {
      assertThat(send(c)).as(c).isEqualTo(wrongType);
    }
    assertThat(send("EXISTS d", "HGETALL l")).isEqualTo(":0\r\n*2\r\n$1\r\nf\r\n$1\r\na\r\n");
  }

  @Test
  void absentKeys_answerAsAnEmptyValue_andReadsCreateNothing() {
    assertThat(send("BITCOUNT none 0 -1 BIT", "BITPOS none 0 3 -1 BIT", "BITPOS none 1 3 5", "BITPOS none 0",
        "BITFIELD_RO none GET i64 0 GET u8 1000", "BITFIELD none GET u4 7", "BITOP OR d none", "EXISTS none d"))
        .isEqualTo(":0\r\n:0\r\n:-1\r\n:0\r\n*2\r\n:0\r\n:0\r\n*1\r\n:0\r\n:0\r\n:0\r\n");
  }

  private static byte[] b(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
  }
}
