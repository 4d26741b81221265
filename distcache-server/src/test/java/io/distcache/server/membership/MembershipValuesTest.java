package io.distcache.server.membership;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MembershipValuesTest {

  @Test
  void parse_hostAndPort_givesAddress() {
    assertThat(Address.parse("cache-1.internal:7000")).isEqualTo(new Address("cache-1.internal", 7000));
    assertThat(Address.parse(" 10.0.0.1:1 ")).isEqualTo(new Address("10.0.0.1", 1));
    assertThat(Address.parse("[::1]:7000")).isEqualTo(new Address("::1", 7000));
    assertThat(new Address("::1", 7000)).hasToString("[::1]:7000");
  }

  @Test
  void parse_malformed_throwsNamingTheInput() {
    assertThatThrownBy(() -> Address.parse("nohost")).hasMessage("address 'nohost' is not host:port");
    assertThatThrownBy(() -> Address.parse("h:")).hasMessage("address 'h:' is not host:port");
    assertThatThrownBy(() -> Address.parse("h:x")).hasMessage("address 'h:x': port is not a number");
    assertThatThrownBy(() -> Address.parse("h:70000")).hasMessage("port 70000 is outside 1..65535");
    assertThatThrownBy(() -> Address.parse("::1:7000")).hasMessageContaining("write IPv6 hosts in brackets");
    assertThatThrownBy(() -> new Address("a b", 1)).hasMessage("host contains the character 0x20 at 1");
  }

  @Test
  void newId_laterStart_sortsAfterEarlierStart() {
    Random r = new Random(5);
    String earlier = Member.newId(1_700_000_000_000L, r);
    String later = Member.newId(1_700_000_000_001L, r);

    assertThat(later).isGreaterThan(earlier);
    assertThat(earlier).hasSize(40).matches("[0-9a-f]{40}");
  }

  @Test
  void member_badId_throwsNamingTheProblem() {
    Address h = new Address("h", 1);
    assertThatThrownBy(() -> new Member("", h)).hasMessage("member id length 0 is outside 1..64");
    assertThatThrownBy(() -> new Member("x".repeat(65), h)).hasMessage("member id length 65 is outside 1..64");
    assertThatThrownBy(() -> new Member("é", h)).hasMessageContaining("printable ASCII");
  }

  @Test
  void config_invalidValues_throwNamingTheValue() {
    MembershipConfig d = MembershipConfig.defaults();
    assertThatThrownBy(() -> d.withProtocolPeriod(Duration.ZERO)).hasMessage("protocolPeriod PT0S must be positive");
    assertThatThrownBy(() -> d.withProbeTimeouts(Duration.ofMillis(500), Duration.ofMillis(500)))
        .hasMessageContaining("pingTimeout PT0.5S must be shorter than probeTimeout PT0.5S");
    assertThatThrownBy(() -> d.withIndirectProbes(17)).hasMessage("indirectProbes 17 is outside 0..16");
    assertThatThrownBy(() -> d.withMaxPiggyback(0)).hasMessage("maxPiggyback 0 is outside 1..64");
  }

  @Test
  void retransmitLimit_growsWithTheLogOfTheClusterSize() {
    assertThat(Broadcasts.retransmitLimit(4, 1)).isEqualTo(4);
    assertThat(Broadcasts.retransmitLimit(4, 9)).isEqualTo(4);
    assertThat(Broadcasts.retransmitLimit(4, 10)).isEqualTo(8);
    assertThat(Broadcasts.retransmitLimit(4, 100)).isEqualTo(12);
  }

  @Test
  void take_newsAboutOneMember_onlyTheNewestIsSentAndRetiresAfterTheLimit() {
    Broadcasts b = new Broadcasts();
    Member m = new Member("m", new Address("h", 1));
    b.add(new MemberStatus(m, MemberState.ALIVE, 0));
    b.add(new MemberStatus(m, MemberState.SUSPECT, 0));

    assertThat(b.take(10, 2)).containsExactly(new MemberStatus(m, MemberState.SUSPECT, 0));
    assertThat(b.take(10, 2)).hasSize(1);
    assertThat(b.take(10, 2)).isEmpty();
  }
}
