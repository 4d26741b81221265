package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.distcache.server.security.PasswordHash;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisAccessControlException;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * Authentication, ACL users and protected mode with Redis's replies, through Jedis and Lettuce in
 * their default modes and raw sockets, against a real node.
 */
class SecurityTest {
  @TempDir Path dir;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private DistCacheNode node(DistCacheNode.Builder b) {
    DistCacheNode n = b.maxMemoryBytes(64L * 1024 * 1024).start();
    toClose.add(n);
    return n;
  }

  private DistCacheNode loopbackNode(DistCacheNode.Builder b) {
    return node(b.address("127.0.0.1", 0));
  }

  private Jedis jedis(DistCacheNode n, String user, String password) {
    DefaultJedisClientConfig.Builder c = DefaultJedisClientConfig.builder();
    if (user != null) {
      c.user(user);
    }
    if (password != null) {
      c.password(password);
    }
    Jedis j = new Jedis(new HostAndPort("127.0.0.1", n.port()), c.build());
    toClose.add(j);
    return j;
  }

  private static String raw(int port, String host, String request) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), 5_000);
      s.setSoTimeout(10_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      s.shutdownOutput();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[4096];
      try {
        for (int n; (n = in.read(buf)) >= 0; ) {
          got.write(buf, 0, n);
        }
      } catch (SocketException reset) {
        // closed by the node
      }
      return got.toString(StandardCharsets.US_ASCII);
    }
  }

  @Test
  void requirepass_beforeAuth_onlyAuthHelloQuitResetRun() throws Exception {
    DistCacheNode n = loopbackNode(DistCacheNode.builder().requirePass("s3cret"));
    String replies = raw(n.port(), "127.0.0.1",
        "PING\r\nSET k v\r\nFLUSHALL\r\nNOSUCH\r\nRESET\r\nAUTH wrong\r\nAUTH s3cret\r\nSET k v\r\nGET k\r\nQUIT\r\n");
    assertThat(replies).isEqualTo("-NOAUTH Authentication required.\r\n"
        + "-NOAUTH Authentication required.\r\n"
        + "-NOAUTH Authentication required.\r\n"
        + "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
        + "+RESET\r\n"
        + "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        + "+OK\r\n+OK\r\n$1\r\nv\r\n+OK\r\n");
  }

  @Test
  void unauthenticated_bulkOver16KiBOrMoreThan10Arguments_isRedisProtocolErrorAndCloses() throws Exception {
    DistCacheNode n = loopbackNode(DistCacheNode.builder().requirePass("s3cret"));
    assertThat(raw(n.port(), "127.0.0.1", "*11\r\n")).isEqualTo("-ERR Protocol error: unauthenticated multibulk length\r\n");
    assertThat(raw(n.port(), "127.0.0.1", "*3\r\n$4\r\nAUTH\r\n$16385\r\n"))
        .isEqualTo("-ERR Protocol error: unauthenticated bulk length\r\n");
    // At the bounds it is an ordinary command; AUTH then a large SET in one burst is served, as in
    // Redis, which parses a command only after the one before it ran.
    String name = "u".repeat(16 * 1024);
    String big = "v".repeat(100_000);
    String replies = raw(n.port(), "127.0.0.1", "*3\r\n$4\r\nAUTH\r\n$" + name.length() + "\r\n" + name + "\r\n$1\r\nx\r\n"
        + "*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + big.length() + "\r\n" + big + "\r\n"
        + "*11\r\n$4\r\nMSET\r\n" + "$1\r\na\r\n".repeat(10) + "STRLEN k\r\n");
    assertThat(replies).isEqualTo("-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n+OK\r\n"
        + "+OK\r\n:100000\r\n");
  }

  @Test
  void aclLog_hugeUserNameAndClientName_keepsThemCutTo128Characters() throws Exception {
    DistCacheNode n = loopbackNode(DistCacheNode.builder().requirePass("s3cret"));
    Jedis admin = jedis(n, null, "s3cret");
    admin.clientSetname("c".repeat(4096));
    String user = "x".repeat(10_000);
    assertThatThrownBy(() -> admin.auth(user, "wrong")).hasMessageStartingWith("WRONGPASS");
    List<redis.clients.jedis.resps.AccessControlLogEntry> log = admin.aclLog();
    assertThat(log).hasSize(1);
    assertThat(log.get(0).getUsername()).isEqualTo("x".repeat(128) + "...");
    assertThat(log.get(0).getClientInfo().get("name")).endsWith("c...").hasSizeLessThan(1024);
    assertThat(admin.ping()).isEqualTo("PONG");
  }

  @Test
  void clientSetnameAndSetinfo_over4KiB_areRefusedNamingTheLimit() {
    DistCacheNode n = loopbackNode(DistCacheNode.builder());
    Jedis j = jedis(n, null, null);
    assertThatThrownBy(() -> j.clientSetname("n".repeat(4097)))
        .hasMessage("ERR client name is 4097 bytes, the limit is 4096");
    assertThatThrownBy(() -> j.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "SETINFO", "lib-ver", "1".repeat(5000)))
        .hasMessage("ERR lib-ver is 5000 bytes, the limit is 4096");
    assertThat(j.clientSetname("n".repeat(4096))).isEqualTo("OK");
    assertThat(j.clientGetname()).hasSize(4096);
  }

  @Test
  void requirepass_jedisAndLettuce_withThePassword_andRefusedWithout() {
    DistCacheNode n = loopbackNode(DistCacheNode.builder().requirePass("s3cret"));
    assertThatThrownBy(() -> jedis(n, null, null).get("k"))
        .isInstanceOf(JedisDataException.class).hasMessage("NOAUTH Authentication required.");
    assertThatThrownBy(() -> jedis(n, null, "wrong").ping())
        .isInstanceOf(JedisAccessControlException.class)
        .hasMessage("WRONGPASS invalid username-password pair or user is disabled.");
    Jedis ok = jedis(n, null, "s3cret");
    assertThat(ok.set("k", "v")).isEqualTo("OK");
    assertThat(ok.get("k")).isEqualTo("v");
    assertThat(ok.aclWhoAmI()).isEqualTo("default");

    // Lettuce's default: RESP3, so it authenticates with HELLO 3 AUTH default s3cret.
    RedisClient lettuce = RedisClient.create(RedisURI.Builder.redis("127.0.0.1", n.port()).withPassword("s3cret".toCharArray()).build());
    toClose.add(lettuce::shutdown);
    try (StatefulRedisConnection<String, String> c = lettuce.connect()) {
      assertThat(c.sync().get("k")).isEqualTo("v");
    }
    RedisClient wrong = RedisClient.create(RedisURI.Builder.redis("127.0.0.1", n.port()).withPassword("nope".toCharArray()).build());
    toClose.add(wrong::shutdown);
    String before = ok.info("errorstats");
    // Lettuce closes its channel as it fails the handshake; on a loaded machine the close can
    // overtake the WRONGPASS in its exception ("Connection closed prematurely"), so the node's own
    // count of WRONGPASS replies is what shows the password was refused.
    assertThatThrownBy(wrong::connect).isInstanceOf(RedisConnectionException.class);
    assertThat(wrongpassCount(ok.info("errorstats"))).isEqualTo(wrongpassCount(before) + 1);
  }

  private static long wrongpassCount(String errorstats) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("errorstat_WRONGPASS:count=(\\d+)").matcher(errorstats);
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }

  @Test
  void helloWithoutAuth_whilePasswordRequired_isNoauthWithRedisText() throws Exception {
    DistCacheNode n = loopbackNode(DistCacheNode.builder().requirePass("s3cret"));
    assertThat(raw(n.port(), "127.0.0.1", "HELLO 3\r\n")).isEqualTo("-NOAUTH HELLO must be called with the client"
        + " already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the"
        + " client and select the RESP protocol version at the same time\r\n");
    assertThat(raw(n.port(), "127.0.0.1", "HELLO 2 AUTH default s3cret\r\n")).startsWith("*14\r\n$6\r\nserver\r\n");
  }

  @Test
  void channelRules_publishAndSubscribeNeedAMatchingPattern_psubscribeALiteralOne() throws Exception {
    Path acl = dir.resolve("channels.acl");
    Files.writeString(acl, "user default on nopass ~* &* +@all\nuser carol on >pw ~* &news:* +@all\n");
    DistCacheNode n = loopbackNode(DistCacheNode.builder().aclFile(acl));
    Jedis carol = jedis(n, "carol", "pw");
    assertThat(carol.publish("news:today", "hi")).isZero();
    assertThatThrownBy(() -> carol.publish("secret", "hi")).hasMessage("NOPERM No permissions to access a channel");
    assertThat(carol.aclLog().get(0).getReason()).isEqualTo("channel");
    Jedis sub = jedis(n, "carol", "pw");
    // A pattern must be one of carol's, literally: "news:*" is, "*" is not (it would see "secret").
    assertThatThrownBy(() -> sub.psubscribe(new redis.clients.jedis.JedisPubSub() {}, "*"))
        .hasMessage("NOPERM No permissions to access a channel");
    Jedis sub2 = jedis(n, "carol", "pw");
    assertThatThrownBy(() -> sub2.subscribe(new redis.clients.jedis.JedisPubSub() {}, "news:a", "secret"))
        .hasMessage("NOPERM No permissions to access a channel");
    // The default user (allchannels) is not checked at all.
    assertThat(jedis(n, null, null).publish("secret", "x")).isZero();
  }

  @Test
  void aclfileUsers_keyPatternsAndCategories_withNopermErrorsAndAclLog() throws Exception {
    Path acl = dir.resolve("users.acl");
    Files.writeString(acl, "user alice on >wonder ~cache:* +@read +@write -@dangerous\n"
        + "user default on nopass ~* &* +@all\n");
    DistCacheNode n = loopbackNode(DistCacheNode.builder().aclFile(acl));
    Jedis alice = jedis(n, "alice", "wonder");
    assertThat(alice.set("cache:1", "x")).isEqualTo("OK");
    assertThat(alice.get("cache:1")).isEqualTo("x");
    assertThatThrownBy(alice::aclWhoAmI) // as in Redis: ACL WHOAMI is only @slow
        .hasMessage("NOPERM User alice has no permissions to run the 'acl|whoami' command");
    assertThatThrownBy(() -> alice.set("other", "x")).hasMessage("NOPERM No permissions to access a key");
    assertThatThrownBy(() -> alice.mset("cache:2", "a", "other", "b")).hasMessage("NOPERM No permissions to access a key");
    // SINTERCARD's keys are counted by numkeys: every one is checked, not only the first.
    assertThat(alice.sintercard(2, "cache:s1", "cache:s2")).isZero();
    assertThatThrownBy(() -> alice.sintercard(2, "cache:s1", "other"))
        .hasMessage("NOPERM No permissions to access a key");
    assertThatThrownBy(alice::flushAll).hasMessage("NOPERM User alice has no permissions to run the 'flushall' command");
    assertThatThrownBy(() -> alice.configGet("maxmemory"))
        .hasMessage("NOPERM User alice has no permissions to run the 'config|get' command");

    Jedis admin = jedis(n, null, null);
    assertThat(admin.clientList()).contains("user=alice").contains("user=default");
    List<redis.clients.jedis.resps.AccessControlLogEntry> log = admin.aclLog();
    assertThat(log).extracting(e -> e.getReason()).contains("key", "command");
    assertThat(log).extracting(e -> e.getUsername()).containsOnly("alice");

    Map<String, Object> user = aclGetUser(admin, "alice");
    assertThat(user.get("passwords")).isEqualTo(List.of(PasswordHash.of("wonder")));
    assertThat(user.get("keys")).isEqualTo("~cache:*");
    assertThat(user.get("commands")).isEqualTo("-@all +@read +@write -@dangerous");
    assertThat(admin.aclList()).contains("user alice on #" + PasswordHash.of("wonder") + " ~cache:* resetchannels -@all +@read +@write -@dangerous");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> aclGetUser(Jedis j, String name) {
    List<Object> flat = (List<Object>) j.sendCommand(redis.clients.jedis.Protocol.Command.ACL, "GETUSER", name);
    Map<String, Object> out = new java.util.LinkedHashMap<>();
    for (int i = 0; i < flat.size(); i += 2) {
      out.put(new String((byte[]) flat.get(i), StandardCharsets.UTF_8), decode(flat.get(i + 1)));
    }
    return out;
  }

  private static Object decode(Object o) {
    if (o instanceof byte[] b) {
      return new String(b, StandardCharsets.UTF_8);
    }
    if (o instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      for (Object x : l) {
        out.add(decode(x));
      }
      return out;
    }
    return o;
  }

  @Test
  void aclSetuser_readOnlyPatterns_deluser_saveAndLoad() throws Exception {
    Path acl = dir.resolve("users.acl");
    Files.writeString(acl, "");
    DistCacheNode n = loopbackNode(DistCacheNode.builder().aclFile(acl));
    Jedis admin = jedis(n, null, null);
    assertThat(admin.aclSetUser("bob", "on", ">pw", "%R~ro:*", "%W~wo:*", "+get", "+set")).isEqualTo("OK");
    assertThatThrownBy(() -> admin.aclSetUser("bob", "+nosuch"))
        .hasMessage("ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL");
    assertThatThrownBy(() -> admin.aclSetUser("bob", "bogus")).hasMessage("ERR Error in ACL SETUSER modifier 'bogus': Syntax error");
    Jedis bob = jedis(n, "bob", "pw");
    assertThat(bob.get("ro:1")).isNull();
    assertThatThrownBy(() -> bob.set("ro:1", "x")).hasMessage("NOPERM No permissions to access a key");
    assertThat(bob.set("wo:1", "x")).isEqualTo("OK");
    assertThatThrownBy(() -> bob.get("wo:1")).hasMessage("NOPERM No permissions to access a key");
    assertThatThrownBy(bob::dbSize).hasMessage("NOPERM User bob has no permissions to run the 'dbsize' command");

    assertThat(admin.aclSave()).isEqualTo("OK");
    String saved = Files.readString(acl);
    assertThat(saved).contains("user bob on #" + PasswordHash.of("pw") + " %R~ro:* %W~wo:* resetchannels -@all +get +set")
        .doesNotContain(">pw");
    assertThat(admin.aclDelUser("bob")).isEqualTo(1);
    assertThat(admin.aclUsers()).containsExactly("default");
    assertThatThrownBy(() -> admin.aclDelUser("default")).hasMessage("ERR The 'default' user cannot be removed");
    assertThat(admin.aclLoad()).isEqualTo("OK");
    assertThat(admin.aclUsers()).containsExactly("bob", "default");
    assertThat(admin.aclCat()).contains("read", "write", "keyspace", "dangerous", "string", "connection");
    assertThat(admin.aclCat("dangerous")).contains("flushall", "keys");
    assertThat(jedis(n, "bob", "pw").get("ro:1")).isNull();
    assertThatThrownBy(() -> jedis(n, "bob", "wrong").ping())
        .hasMessage("WRONGPASS invalid username-password pair or user is disabled.");
    assertThat(admin.aclLog()).extracting(e -> e.getReason()).contains("auth");
  }

  /** The documented aclfile's default line says nopass: --requirepass keeps the password at start and at ACL LOAD alike. */
  @Test
  void requirepass_besideAnAclfileWhoseDefaultIsNopass_staysThroughAclLoad() throws Exception {
    Path acl = dir.resolve("users.acl");
    Files.writeString(acl, "user default on nopass ~* &* +@all\n");
    DistCacheNode n = loopbackNode(DistCacheNode.builder().requirePass("s3cret").aclFile(acl));
    assertThatThrownBy(() -> jedis(n, null, null).ping()).hasMessageStartingWith("NOAUTH");

    assertThat(jedis(n, null, "s3cret").aclLoad()).isEqualTo("OK");

    assertThatThrownBy(() -> jedis(n, null, null).ping()).as("after ACL LOAD").hasMessageStartingWith("NOAUTH");
    assertThat(jedis(n, null, "s3cret").ping()).isEqualTo("PONG");
    assertThat(jedis(n, null, "s3cret").aclSave()).isEqualTo("OK");
    assertThat(Files.readString(acl)).contains("user default on #" + PasswordHash.of("s3cret")).doesNotContain("nopass");

    Files.writeString(acl, "user default on nopass ~* &* +@all\n");
    Jedis admin = jedis(n, null, "s3cret");
    assertThat(admin.configSet("requirepass", "n3w")).isEqualTo("OK");
    assertThat(admin.aclLoad()).isEqualTo("OK");
    assertThat(jedis(n, null, "n3w").ping()).as("CONFIG SET's password, not the start's").isEqualTo("PONG");
    assertThatThrownBy(() -> jedis(n, null, "s3cret").ping()).hasMessageStartingWith("WRONGPASS");
  }

  /**
   * AUTH, HELLO, RESET and QUIT are not subject to a user's command rules (Redis's no-auth
   * exemption): a user with no @connection command can still switch users, speak RESP3 and reset.
   * Refusals count in the command's rejected_calls, as in Redis.
   */
  @Test
  void noAuthCommands_passARestrictedUsersRules_andRefusalsCountAsRejectedCalls() throws Exception {
    Path acl = dir.resolve("users.acl");
    Files.writeString(acl, "user default on nopass ~* &* +@all\nuser app on >app-pw ~cache:* -@all +get\n");
    DistCacheNode n = loopbackNode(DistCacheNode.builder().aclFile(acl));
    String replies = raw(n.port(), "127.0.0.1", "AUTH app app-pw\r\nAUTH app app-pw\r\nHELLO 3\r\n"
        + "SET cache:1 x\r\nFLUSHALL\r\nRESET\r\nAUTH app app-pw\r\nGET cache:1\r\nQUIT\r\n");
    assertThat(replies).startsWith("+OK\r\n+OK\r\n%").doesNotContain("'auth'", "'hello'", "'reset'", "'quit'")
        .contains("-NOPERM User app has no permissions to run the 'set' command\r\n")
        .contains("-NOPERM User app has no permissions to run the 'flushall' command\r\n")
        .contains("+RESET\r\n+OK\r\n$-1\r\n+OK\r\n"); // RESET goes back to RESP2
    String stats = jedis(n, null, null).info("commandstats");
    assertThat(stats).containsPattern("cmdstat_set:calls=0,.*rejected_calls=1,")
        .containsPattern("cmdstat_flushall:calls=0,.*rejected_calls=1,");
  }

  /** A connection that sent AUTH user password and read its +OK; closed by tearDown. */
  private Socket authenticated(DistCacheNode n, String user, String password) throws IOException {
    Socket s = new Socket();
    toClose.add(s);
    s.connect(new InetSocketAddress("127.0.0.1", n.port()), 5_000);
    s.setSoTimeout(10_000);
    s.getOutputStream().write(("AUTH " + user + " " + password + "\r\n").getBytes(StandardCharsets.US_ASCII));
    assertThat(new String(s.getInputStream().readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("+OK\r\n");
    return s;
  }

  /** What the node sends {@code s} until it closes it (a read timeout fails the test: still open). */
  private static String untilClosed(Socket s) throws IOException {
    try {
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    } catch (SocketException reset) {
      return "";
    }
  }

  @Test
  void aclDeluser_closesTheUsersConnectionsAtOnce_withoutAnsweringThem() throws Exception {
    DistCacheNode n = loopbackNode(DistCacheNode.builder());
    Jedis admin = jedis(n, null, null);
    for (String u : List.of("bob", "carol", "dave")) {
      admin.aclSetUser(u, "on", ">pw", "~*", "&*", "+@all");
    }
    Socket bob = authenticated(n, "bob", "pw");
    Socket bobSubscriber = authenticated(n, "bob", "pw");
    bobSubscriber.getOutputStream().write("SUBSCRIBE news\r\n".getBytes(StandardCharsets.US_ASCII));
    bobSubscriber.getInputStream().readNBytes("*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n".length());
    Socket carol = authenticated(n, "carol", "pw");
    assertThat(admin.aclDelUser("bob")).isEqualTo(1);
    // Idle ones too: closed without a command of theirs, and nothing sent before the close.
    assertThat(untilClosed(bob)).isEmpty();
    assertThat(untilClosed(bobSubscriber)).isEmpty();
    await().atMost(java.time.Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(admin.clientList()).doesNotContain("user=bob"));
    carol.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
    assertThat(new String(carol.getInputStream().readNBytes(7), StandardCharsets.US_ASCII)).isEqualTo("+PONG\r\n");

    // Deleting its own user: the connection gets its reply, then is closed.
    Socket dave = authenticated(n, "dave", "pw");
    dave.getOutputStream().write("ACL DELUSER dave\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));
    assertThat(untilClosed(dave)).isEqualTo(":1\r\n");
  }

  @Test
  void aclLoad_closesTheConnectionsOfUsersTheFileNoLongerHas_andKeepsTheOthers() throws Exception {
    Path acl = dir.resolve("users.acl");
    Files.writeString(acl, "user default on nopass ~* &* +@all\nuser bob on >pw ~* &* +@all\n");
    DistCacheNode n = loopbackNode(DistCacheNode.builder().aclFile(acl));
    Jedis admin = jedis(n, null, null);
    admin.aclSetUser("eve", "on", ">pw", "~*", "+@all");
    Socket eve = authenticated(n, "eve", "pw");
    Socket bob = authenticated(n, "bob", "pw");
    assertThat(admin.aclLoad()).isEqualTo("OK");
    assertThat(untilClosed(eve)).isEmpty();
    // As Redis 7.2 (redis#12171): a user the file still has keeps its connections.
    bob.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
    assertThat(new String(bob.getInputStream().readNBytes(7), StandardCharsets.US_ASCII)).isEqualTo("+PONG\r\n");
  }

  @Test
  void lettuce_withAnAclUser() {
    Path acl = dir.resolve("users.acl");
    try {
      Files.writeString(acl, "user alice on >wonder ~cache:* +@read +@write\n");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    DistCacheNode n = loopbackNode(DistCacheNode.builder().aclFile(acl));
    RedisClient lettuce = RedisClient.create(RedisURI.Builder.redis("127.0.0.1", n.port())
        .withAuthentication("alice", "wonder".toCharArray()).build());
    toClose.add(lettuce::shutdown);
    try (StatefulRedisConnection<String, String> c = lettuce.connect()) {
      assertThat(c.sync().set("cache:a", "1")).isEqualTo("OK");
      assertThat(c.sync().get("cache:a")).isEqualTo("1");
      assertThatThrownBy(() -> c.sync().set("x", "1")).isInstanceOf(RedisCommandExecutionException.class)
          .hasMessage("NOPERM No permissions to access a key");
    }
  }

  @Test
  void configSetRequirepass_replacesTheDefaultUsersPasswords_andEmptyMakesItNopass() throws Exception {
    DistCacheNode n = loopbackNode(DistCacheNode.builder().requirePass("old"));
    Jedis admin = jedis(n, null, "old");
    admin.aclSetUser("default", ">second"); // two passwords: CONFIG SET replaces both
    admin.configSet("slowlog-log-slower-than", "0");
    assertThat(admin.configSet("requirepass", "n3w")).isEqualTo("OK");
    Map<String, Object> d = aclGetUser(admin, "default");
    assertThat(d.get("passwords")).isEqualTo(List.of(PasswordHash.of("n3w")));
    assertThat(d.get("flags")).isEqualTo(List.of("on"));
    assertThat(jedis(n, null, "n3w").ping()).isEqualTo("PONG");
    for (String gone : List.of("old", "second")) {
      assertThatThrownBy(() -> jedis(n, null, gone).ping())
          .hasMessage("WRONGPASS invalid username-password pair or user is disabled.");
    }
    assertThat(admin.ping()).isEqualTo("PONG"); // it authenticated: it stays so
    // Only the hash is kept: CONFIG GET does not list it, and neither it nor the slow log shows the value.
    assertThat(admin.configGet("requirepass")).isEmpty();
    assertThat(admin.configGet("*")).doesNotContainKey("requirepass").doesNotContainValue("n3w");
    assertThat(admin.slowlogGet(1000)).filteredOn(e -> e.getArgs().get(0).equalsIgnoreCase("config"))
        .flatExtracting(e -> e.getArgs()).contains("(redacted)").doesNotContain("n3w");

    assertThat(admin.configSet("requirepass", "")).isEqualTo("OK");
    assertThat(aclGetUser(admin, "default").get("flags")).isEqualTo(List.of("on", "nopass"));
    assertThat(jedis(n, null, null).set("k", "v")).isEqualTo("OK");
  }

  @Test
  void configSetRequirepass_onAnOpenNode_makesConnectionsThatNeverAuthenticatedAuthenticate() throws Exception {
    DistCacheNode n = loopbackNode(DistCacheNode.builder());
    Jedis j = jedis(n, null, null);
    assertThat(j.configSet("requirepass", "pw")).isEqualTo("OK");
    assertThatThrownBy(j::ping).hasMessage("NOAUTH Authentication required.");
    assertThat(j.auth("pw")).isEqualTo("OK");
    assertThat(j.ping()).isEqualTo("PONG");
    assertThat(raw(n.port(), "127.0.0.1", "GET k\r\nAUTH pw\r\nGET k\r\n"))
        .isEqualTo("-NOAUTH Authentication required.\r\n+OK\r\n$-1\r\n");
  }

  @Test
  void secrets_areNotInInfoConfigOrClientList() throws Exception {
    DistCacheNode n = loopbackNode(DistCacheNode.builder().requirePass("s3cret-value"));
    Jedis j = jedis(n, null, "s3cret-value");
    assertThat(j.info()).doesNotContain("s3cret");
    assertThat(j.configGet("*").toString()).doesNotContain("s3cret");
    assertThat(j.clientList()).doesNotContain("s3cret");
    assertThat(j.aclList().toString()).doesNotContain("s3cret").contains(PasswordHash.of("s3cret-value"));
  }

  @Test
  void javaClient_authenticatesWithAUser_andIsRefusedWithoutOrWithAWrongPassword() throws Exception {
    Path acl = dir.resolve("users.acl");
    Files.writeString(acl, "user app on >app-pw ~cache:* +@read +@write -@dangerous\n");
    DistCacheNode n = loopbackNode(DistCacheNode.builder().requirePass("s3cret").aclFile(acl));
    String addr = "127.0.0.1:" + n.port();
    try (io.distcache.client.DistCacheClient app = io.distcache.client.DistCacheClient.builder().addresses(addr)
        .credentials("app", "app-pw").build()) {
      app.set("cache:1", "v");
      assertThat(app.get("cache:1")).isEqualTo("v");
      assertThatThrownBy(() -> app.set("other", "v")).isInstanceOf(io.distcache.client.DistCacheException.class)
          .hasMessageContaining("NO_PERMISSION").hasMessageContaining("NOPERM No permissions to access a key");
    }
    try (io.distcache.client.DistCacheClient admin = io.distcache.client.DistCacheClient.builder().addresses(addr)
        .credentials(null, "s3cret").build()) {
      admin.set("other", "v");
      assertThat(admin.get("other")).isEqualTo("v");
    }
    try (io.distcache.client.DistCacheClient none = io.distcache.client.DistCacheClient.builder().addresses(addr)
        .smartRouting(false).build()) {
      assertThatThrownBy(() -> none.get("other")).isInstanceOf(io.distcache.client.DistCacheException.class)
          .hasMessageContaining("AUTH_REQUIRED").hasMessageContaining("NOAUTH Authentication required.");
    }
    try (io.distcache.client.DistCacheClient wrong = io.distcache.client.DistCacheClient.builder().addresses(addr)
        .smartRouting(false).credentials("app", "nope").build()) {
      assertThatThrownBy(() -> wrong.get("cache:1")).isInstanceOf(io.distcache.client.DistCacheException.class)
          .hasMessageContaining("AUTH as 'app'").hasMessageContaining("WRONGPASS").hasMessageNotContaining("nope");
    }
  }

  /** A non-loopback address of this host, or null. */
  private static InetAddress externalAddress() throws SocketException {
    for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!ni.isUp() || ni.isLoopback()) {
        continue;
      }
      for (InetAddress a : Collections.list(ni.getInetAddresses())) {
        if (a instanceof java.net.Inet4Address) {
          return a;
        }
      }
    }
    return null;
  }

  @Test
  void protectedMode_refusesRemoteClientsWithoutPassword_asRedis() throws Exception {
    InetAddress external = externalAddress();
    assumeTrue(external != null, "this host has no non-loopback IPv4 address");
    DistCacheNode open = node(DistCacheNode.builder().address("0.0.0.0", 0));
    String reply = raw(open.port(), external.getHostAddress(), "SET k v\r\n");
    assertThat(reply).startsWith("-DENIED Redis is running in protected mode because protected mode is enabled and no"
        + " password is set for the default user.").endsWith("accepting connections from the outside.\r\n");
    assertThat(raw(open.port(), "127.0.0.1", "SET k v\r\n")).isEqualTo("+OK\r\n");

    DistCacheNode withPassword = node(DistCacheNode.builder().address("0.0.0.0", 0).requirePass("pw"));
    assertThat(raw(withPassword.port(), external.getHostAddress(), "AUTH pw\r\nSET k v\r\n")).isEqualTo("+OK\r\n+OK\r\n");

    DistCacheNode off = node(DistCacheNode.builder().address("0.0.0.0", 0).protectedMode(false));
    assertThat(raw(off.port(), external.getHostAddress(), "SET k v\r\n")).isEqualTo("+OK\r\n");
  }
}
