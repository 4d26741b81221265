package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.DistCacheNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stock redis-cli against a node with a password and ACL users: -a, --user/--pass, ACL commands. */
class RedisCliAuthIT {
  @TempDir Path dir;

  private static String cli(int port, String... args) throws Exception {
    String[] cmd = new String[args.length + 5];
    cmd[0] = "redis-cli";
    cmd[1] = "-h";
    cmd[2] = "127.0.0.1";
    cmd[3] = "-p";
    cmd[4] = Integer.toString(port);
    System.arraycopy(args, 0, cmd, 5, args.length);
    return RedisTools.run(null, cmd).out().trim();
  }

  @Test
  void redisCli_overTls_withCaAndClientCertificate() throws Exception {
    RedisTools.require("redis-cli");
    io.distcache.server.TestCerts c = io.distcache.server.TestCerts.create(dir);
    try (DistCacheNode node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L << 20)
        .requirePass("s3cret")
        .tls(0, new io.distcache.server.net.TlsFiles(c.serverCert, c.serverKey, c.caCert,
            io.distcache.server.net.TlsFiles.AuthClients.YES)).start()) {
      String port = Integer.toString(node.tlsPort());
      RedisTools.Result r = RedisTools.run(null, "redis-cli", "-h", "127.0.0.1", "-p", port, "--tls",
          "--cacert", c.caCert.toString(), "--cert", c.clientCert.toString(), "--key", c.clientKey.toString(),
          "-a", "s3cret", "--no-auth-warning", "SET", "k", "tls");
      assertThat(r.out().trim()).as(r.stderr()).isEqualTo("OK");
      r = RedisTools.run(null, "redis-cli", "-h", "127.0.0.1", "-p", port, "--tls",
          "--cacert", c.caCert.toString(), "--cert", c.clientCert.toString(), "--key", c.clientKey.toString(),
          "-a", "s3cret", "--no-auth-warning", "GET", "k");
      assertThat(r.out().trim()).isEqualTo("tls");
      // Without a client certificate the handshake fails (tls-auth-clients yes, Redis's default).
      r = RedisTools.run(null, "redis-cli", "-h", "127.0.0.1", "-p", port, "--tls", "--cacert", c.caCert.toString(),
          "-a", "s3cret", "--no-auth-warning", "GET", "k");
      assertThat(r.out().trim()).isNotEqualTo("tls");
    }
  }

  @Test
  void redisCli_withPasswordAndAclUser() throws Exception {
    RedisTools.require("redis-cli");
    Path acl = dir.resolve("users.acl");
    Files.writeString(acl, "user alice on >wonder ~cache:* +@read +@write -@dangerous\n");
    try (DistCacheNode node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L << 20)
        .requirePass("s3cret").aclFile(acl).start()) {
      int port = node.port();
      assertThat(cli(port, "SET", "k", "v")).isEqualTo("NOAUTH Authentication required.");
      RedisTools.Result wrong = RedisTools.run(null, "redis-cli", "-h", "127.0.0.1", "-p", Integer.toString(port),
          "-a", "wrong", "--no-auth-warning", "PING");
      assertThat(wrong.stderr()).contains("AUTH failed: WRONGPASS invalid username-password pair or user is disabled.");
      assertThat(wrong.out().trim()).isEqualTo("NOAUTH Authentication required.");
      assertThat(cli(port, "-a", "s3cret", "--no-auth-warning", "SET", "k", "v")).isEqualTo("OK");
      assertThat(cli(port, "--user", "alice", "--pass", "wonder", "--no-auth-warning", "SET", "cache:1", "x")).isEqualTo("OK");
      assertThat(cli(port, "--user", "alice", "--pass", "wonder", "--no-auth-warning", "SET", "k", "x"))
          .isEqualTo("NOPERM No permissions to access a key");
      assertThat(cli(port, "--user", "alice", "--pass", "wonder", "--no-auth-warning", "FLUSHALL"))
          .isEqualTo("NOPERM User alice has no permissions to run the 'flushall' command");
      assertThat(cli(port, "-a", "s3cret", "--no-auth-warning", "ACL", "WHOAMI")).isEqualTo("default");
      assertThat(cli(port, "-a", "s3cret", "--no-auth-warning", "ACL", "USERS")).isEqualTo("alice\ndefault");
      assertThat(cli(port, "-a", "s3cret", "--no-auth-warning", "ACL", "SETUSER", "bob", "on", ">pw", "~*", "+get"))
          .isEqualTo("OK");
      assertThat(cli(port, "--user", "bob", "--pass", "pw", "--no-auth-warning", "GET", "k")).isEqualTo("v");
    }
  }
}
