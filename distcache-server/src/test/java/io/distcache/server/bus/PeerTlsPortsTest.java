package io.distcache.server.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import org.junit.jupiter.api.Test;

class PeerTlsPortsTest {
  private static String id(int i) {
    return String.format("%040x", i);
  }

  @Test
  void learned_isKeptByIdAndZeroForgets() {
    PeerTlsPorts ports = new PeerTlsPorts(id -> true);
    ports.self(7443);

    ports.learned(id(1), 6380);

    assertThat(ports.self()).isEqualTo(7443);
    assertThat(ports.of(id(1))).isEqualTo(6380);
    assertThat(ports.of(id(2))).isZero();
    ports.learned(id(1), 0);
    assertThat(ports.of(id(1))).isZero();
  }

  @Test
  void atTheBound_nonMembersAreDroppedFirst_andInventedIdsCannotGrowIt() {
    Set<String> members = Set.of(id(0), id(1));
    PeerTlsPorts ports = new PeerTlsPorts(members::contains);
    for (int i = 0; i < PeerTlsPorts.MAX_ENTRIES; i++) {
      ports.learned(id(i), 1000 + i);
    }
    assertThat(ports.size()).isEqualTo(PeerTlsPorts.MAX_ENTRIES);

    ports.learned(id(5000), 6000);

    // Every non-member went; the members and the newcomer stay.
    assertThat(ports.size()).isEqualTo(3);
    assertThat(ports.of(id(0))).isEqualTo(1000);
    assertThat(ports.of(id(1))).isEqualTo(1001);
    assertThat(ports.of(id(5000))).isEqualTo(6000);
  }

  @Test
  void atTheBound_withOnlyMembers_aNewIdIsIgnored() {
    PeerTlsPorts ports = new PeerTlsPorts(id -> true);
    for (int i = 0; i < PeerTlsPorts.MAX_ENTRIES; i++) {
      ports.learned(id(i), 1000);
    }

    ports.learned(id(99_999), 2000);

    assertThat(ports.size()).isEqualTo(PeerTlsPorts.MAX_ENTRIES);
    assertThat(ports.of(id(99_999))).isZero();
  }

  @Test
  void portOutOfRange_isRefusedNamingIt() {
    PeerTlsPorts ports = new PeerTlsPorts(id -> true);
    assertThatThrownBy(() -> ports.learned(id(1), 70000)).hasMessage("TLS port 70000 is out of range 0..65535");
    assertThatThrownBy(() -> ports.self(-1)).hasMessage("TLS port -1 is out of range 0..65535");
  }
}
