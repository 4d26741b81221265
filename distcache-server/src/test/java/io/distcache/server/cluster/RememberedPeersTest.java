package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.cluster.Address;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RememberedPeersTest {
  @TempDir Path dir;
  private final Address self = new Address("127.0.0.1", 7000);

  @Test
  void load_noFile_remembersNobody() {
    assertThat(new RememberedPeers(dir.resolve("absent.peers")).load(self)).isEmpty();
  }

  @Test
  void saveThenLoad_keepsTheOthersInOrder_withoutSelf() {
    Path f = dir.resolve("n.peers");
    new RememberedPeers(f).save(List.of(new Address("10.0.0.2", 7001), new Address("::1", 7002)));
    assertThat(new RememberedPeers(f).load(self)).containsExactly(new Address("10.0.0.2", 7001), new Address("::1", 7002));
    assertThat(dir.resolve("n.peers.tmp")).doesNotExist();
  }

  @Test
  void load_skipsCommentsBadLinesAndItself() throws Exception {
    Path f = dir.resolve("n.peers");
    Files.writeString(f, "# comment\n\n127.0.0.1:7000\nnot-an-address\nhost:99999\n10.0.0.3:7003\n10.0.0.3:7003\n");
    assertThat(new RememberedPeers(f).load(self)).containsExactly(new Address("10.0.0.3", 7003));
  }

  @Test
  void load_fileOverTheLimit_isIgnoredWhole() throws Exception {
    Path f = dir.resolve("big.peers");
    Files.writeString(f, "10.0.0.4:7004\n" + "#".repeat(RememberedPeers.MAX_BYTES));
    assertThat(new RememberedPeers(f).load(self)).isEmpty();
  }

  @Test
  void load_manyAddresses_keepsAtMostTheLimit() throws Exception {
    Path f = dir.resolve("many.peers");
    StringBuilder b = new StringBuilder();
    for (int i = 1; i <= RememberedPeers.MAX_PEERS + 10; i++) {
      b.append("10.0.").append(i / 250).append('.').append(i % 250 + 1).append(":7000\n");
    }
    Files.writeString(f, b);
    assertThat(new RememberedPeers(f).load(self)).hasSize(RememberedPeers.MAX_PEERS);
  }

  @Test
  void save_unchanged_doesNotRewrite() throws Exception {
    Path f = dir.resolve("n.peers");
    RememberedPeers peers = new RememberedPeers(f);
    List<Address> two = new ArrayList<>(List.of(new Address("10.0.0.2", 7001), new Address("10.0.0.3", 7002)));
    peers.save(two);
    Files.writeString(f, "edited by hand\n");
    peers.save(two);
    assertThat(Files.readString(f)).isEqualTo("edited by hand\n");
    peers.save(two.subList(0, 1));
    assertThat(Files.readString(f)).contains("10.0.0.2:7001").doesNotContain("10.0.0.3");
  }

  @Test
  void save_unwritableDirectory_doesNotThrow() {
    Path f = dir.resolve("no-such-dir").resolve("n.peers");
    new RememberedPeers(f).save(List.of(new Address("10.0.0.2", 7001)));
    assertThat(f).doesNotExist();
  }
}
