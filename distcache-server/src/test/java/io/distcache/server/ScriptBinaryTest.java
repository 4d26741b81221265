package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ScriptCodec;
import io.distcache.protocol.Status;
import io.distcache.server.net.RawClient;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * The SCRIPT opcode from a binary client: its reply, malformed frames, the ACL user it runs as, and
 * its refusal inside a client's TRANSACTION.
 */
class ScriptBinaryTest {
  private DistCacheNode node;

  @BeforeEach
  void start() {
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024).start();
  }

  @AfterEach
  void stop() {
    node.close();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static Frame call(RawClient c, Frame request) {
    c.send(request.withRequestId(7));
    Frame reply = c.read();
    assertThat(reply.requestId()).isEqualTo(7);
    return reply;
  }

  @Test
  void script_repliesWithTheRespOfItsResult() {
    try (RawClient c = new RawClient(node.port())) {
      Frame r = call(c, ScriptCodec.request(b("redis.call('set', KEYS[1], ARGV[1]); return {1, redis.call('get', KEYS[1])}"),
          "default", List.of(b("k")), List.of(b("v")), 0));
      assertThat(r.status()).isEqualTo(Status.OK);
      assertThat(r.valueText()).isEqualTo("*2\r\n:1\r\n$1\r\nv\r\n");
      Frame resp3 = call(c, ScriptCodec.request(b("return {map={a=1}}"), "default", List.of(), List.of(),
          ScriptCodec.RESP3));
      assertThat(resp3.valueText()).isEqualTo("%1\r\n$1\r\na\r\n:1\r\n");
      Frame error = call(c, ScriptCodec.request(b("error('x')"), "default", List.of(), List.of(), 0));
      assertThat(error.status()).isEqualTo(Status.OK); // the script ran; its error is its RESP reply
      assertThat(error.valueText()).startsWith("-ERR user_script:1: x script: ");
    }
  }

  @Test
  void malformedScript_badRequest_connectionKept() {
    try (RawClient c = new RawClient(node.port())) {
      byte[] list = ListCodec.encodeKeys(List.of(b("return 1"), b("default")));
      Frame lying = Frame.request(Opcode.SCRIPT, 0, Frame.EMPTY, list, 5, 0);
      Frame r = call(c, lying);
      assertThat(r.status()).isEqualTo(Status.BAD_REQUEST);
      assertThat(r.valueText()).contains("SCRIPT with 5 keys");
      Frame garbage = Frame.request(Opcode.SCRIPT, 0, Frame.EMPTY, new byte[] {0, 0, 0, 9, 1}, 0, 0);
      assertThat(call(c, garbage).status()).isEqualTo(Status.BAD_REQUEST);
      assertThat(call(c, Frame.request(Opcode.PING, null)).status()).isEqualTo(Status.OK);
    }
  }

  @Test
  void script_runsAsTheConnectionsUser_notTheOneItNames() {
    try (Jedis admin = new Jedis(new HostAndPort("127.0.0.1", node.port()), DefaultJedisClientConfig.builder().build())) {
      admin.aclSetUser("limited", "on", ">pw", "+@all", "-set", "~*");
    }
    try (RawClient c = new RawClient(node.port())) {
      assertThat(call(c, Frame.request(Opcode.AUTH, 0, b("limited"), b("pw"))).status()).isEqualTo(Status.OK);
      Frame r = call(c, ScriptCodec.request(b("return redis.call('set', KEYS[1], 'x')"), "default", List.of(b("k")),
          List.of(), 0));
      assertThat(r.valueText()).startsWith("-ERR The user executing the script can't run this command or subcommand");
      assertThat(node.store().get(b("k"))).isNull();
    }
  }

  @Test
  void transactionHoldingAScript_fromAClient_badRequestAndNothingRuns() {
    try (RawClient c = new RawClient(node.port())) {
      Frame set = Frame.request(Opcode.SET, 0, b("k"), b("1"), 0);
      Frame script = ScriptCodec.request(b("return redis.call('set', KEYS[1], 'x')"), "default", List.of(b("k")),
          List.of(), 0);
      Frame batch = Frame.request(Opcode.TRANSACTION, 0, b("k"),
          io.distcache.protocol.TransactionCodec.encodeRequest(List.of(), List.of(set, script)));
      Frame r = call(c, batch);
      assertThat(r.status()).isEqualTo(Status.BAD_REQUEST);
      assertThat(r.valueText()).isEqualTo("SCRIPT cannot be part of a TRANSACTION sent by a client: send the script"
          + " alone, it runs atomically");
      assertThat(node.store().get(b("k"))).isNull();
      assertThat(call(c, Frame.request(Opcode.PING, null)).status()).as("the connection stays").isEqualTo(Status.OK);
    }
  }
}
