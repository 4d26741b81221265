package io.distcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.cluster.HashRing;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class MemberListCodecTest {
  /** Two members: "a" at h1:7000 ALIVE incarnation 1, "bb" at h2:65535 LEFT incarnation 2^63-1. */
  private static final byte[] TWO_MEMBERS = {
      0x00, 0x02, // count 2
      0x01, 'a', // id length 1, "a"
      0x02, 'h', '1', // host length 2, "h1"
      0x1B, 0x58, // port 7000
      0x00, // state ALIVE
      0, 0, 0, 0, 0, 0, 0, 1, // incarnation 1
      0x02, 'b', 'b', // id "bb"
      0x02, 'h', '2', // host "h2"
      (byte) 0xFF, (byte) 0xFF, // port 65535
      0x03, // state LEFT
      0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF,
  };

  private static Frame reply(byte[] value, long... extras) {
    return Frame.request(Opcode.CLUSTER_MEMBERS, 0, null, null).replyValue(value, extras);
  }

  @Test
  void decode_exactBytes_readsEveryField() {
    MemberList list = MemberListCodec.decode(reply(TWO_MEMBERS, 42, 16, -5));

    assertThat(list.epoch()).isEqualTo(42);
    assertThat(list.epochKnown()).isTrue();
    assertThat(list.fingerprint()).isEqualTo(-5);
    assertThat(list.virtualNodes()).isEqualTo(16);
    assertThat(list.members()).containsExactly(
        new ClusterMember("a", "h1", 7000, ClusterMember.State.ALIVE, 1),
        new ClusterMember("bb", "h2", 65535, ClusterMember.State.LEFT, Long.MAX_VALUE));
    assertThat(list.members().get(0).address()).isEqualTo("h1:7000");
  }

  @Test
  void decode_tlsPortSection_readsEachMembersTlsPort_zeroMeaningUnknown() {
    byte[] withPorts = Arrays.copyOf(TWO_MEMBERS, TWO_MEMBERS.length + 6);
    int at = TWO_MEMBERS.length;
    withPorts[at + 1] = 0x02; // count 2
    withPorts[at + 2] = 0x1D; // "a": TLS port 7443 (0x1D13)
    withPorts[at + 3] = 0x13;
    // "bb": 0, unknown

    MemberList list = MemberListCodec.decode(reply(withPorts, 42, 16, -5));

    assertThat(list.members()).hasSize(2);
    assertThat(list.tlsPorts()).containsExactly(java.util.Map.entry("a", 7443));
    assertThat(list.overTls()).isTrue();
    assertThat(MemberListCodec.decode(reply(TWO_MEMBERS, 42, 16, -5)).tlsPorts()).isEmpty();
    assertThat(MemberListCodec.decode(reply(TWO_MEMBERS, 42, 16, -5)).overTls()).isFalse();
  }

  @Test
  void decode_tlsPortSectionOfZeros_isStillATlsList() {
    byte[] withPorts = Arrays.copyOf(TWO_MEMBERS, TWO_MEMBERS.length + 6);
    withPorts[TWO_MEMBERS.length + 1] = 0x02; // count 2, both ports 0 (unknown)

    MemberList list = MemberListCodec.decode(reply(withPorts, 42, 16, -5));

    assertThat(list.tlsPorts()).isEmpty();
    assertThat(list.overTls()).as("a list of TLS ports none of which is known").isTrue();
  }

  @Test
  void decode_tlsPortSectionOfAnotherCount_failsNamingBoth() {
    byte[] withPorts = Arrays.copyOf(TWO_MEMBERS, TWO_MEMBERS.length + 4);
    withPorts[TWO_MEMBERS.length + 1] = 0x01; // count 1, but two members

    assertThatThrownBy(() -> MemberListCodec.decode(reply(withPorts, 42, 16, -5)))
        .hasMessageEndingWith("TLS port count 1 is not the member count 2");
  }

  @Test
  void decode_emptyList_hasNoMembers() {
    assertThat(MemberListCodec.decode(reply(new byte[] {0, 0}, 1, 1024, 0)).members()).isEmpty();
  }

  @Test
  void decode_missingExtras_failsNamingThem() {
    assertThatThrownBy(() -> MemberListCodec.decode(reply(TWO_MEMBERS, 1)))
        .isInstanceOf(MemberListCodec.MalformedException.class)
        .hasMessage("CLUSTER_MEMBERS reply is malformed: expected 3 extras (placement epoch, virtual nodes,"
            + " fingerprint), got 1");
  }

  @Test
  void decode_twoExtrasFromAnOlderNode_epochUnknown() {
    MemberList list = MemberListCodec.decode(reply(TWO_MEMBERS, 42, 16));

    assertThat(list.epochKnown()).isFalse();
    assertThat(list.members()).hasSize(2);
  }

  @Test
  void decode_moreThanFourExtras_readsTheFirstFour() {
    MemberList list = MemberListCodec.decode(reply(TWO_MEMBERS, 3, 16, 99, 2, 1234));

    assertThat(list.epoch()).isEqualTo(3);
    assertThat(list.fingerprint()).isEqualTo(99);
    assertThat(list.replicas()).isEqualTo(2);
  }

  @Test
  void decode_threeExtras_noReplicas() {
    assertThat(MemberListCodec.decode(reply(TWO_MEMBERS, 3, 16, 99)).replicas()).isZero();
  }

  @Test
  void decode_replicasOutOfRange_fails() {
    assertThatThrownBy(() -> MemberListCodec.decode(reply(TWO_MEMBERS, 3, 16, 99, 1234)))
        .isInstanceOf(MemberListCodec.MalformedException.class)
        .hasMessageEndingWith("replicas 1234 is outside 0..8");
  }

  @Test
  void decode_negativeEpoch_fails() {
    assertThatThrownBy(() -> MemberListCodec.decode(reply(TWO_MEMBERS, -1, 16, 0)))
        .isInstanceOf(MemberListCodec.MalformedException.class)
        .hasMessageEndingWith("placement epoch -1 is negative");
  }

  @Test
  void decode_virtualNodesOutOfRange_fails() {
    assertThatThrownBy(() -> MemberListCodec.decode(reply(TWO_MEMBERS, 1, 0, 0)))
        .hasMessageEndingWith("virtual nodes 0 is outside 1.." + HashRing.MAX_VIRTUAL_NODES);
    assertThatThrownBy(() -> MemberListCodec.decode(reply(TWO_MEMBERS, 1, HashRing.MAX_VIRTUAL_NODES + 1L, 0)))
        .isInstanceOf(MemberListCodec.MalformedException.class);
  }

  @Test
  void decodeMembers_countBeyondTheBytes_failsBeforeAllocating() {
    byte[] bytes = {(byte) 0xFF, (byte) 0xFF, 1, 'a'};

    assertThatThrownBy(() -> MemberListCodec.decodeMembers(bytes))
        .isInstanceOf(MemberListCodec.MalformedException.class)
        .hasMessageEndingWith("member count 65535 needs at least 983025 bytes, but only 2 remain");
  }

  @Test
  void decodeMembers_noCount_fails() {
    assertThatThrownBy(() -> MemberListCodec.decodeMembers(new byte[] {0}))
        .hasMessageEndingWith("member count needs 2 bytes at offset 0, but only 1 remain");
  }

  @Test
  void decodeMembers_hostLengthBeyondTheBytes_failsNamingMemberAndField() {
    byte[] bytes = TWO_MEMBERS.clone();
    bytes[4] = 120; // first member's host length

    assertThatThrownBy(() -> MemberListCodec.decodeMembers(bytes))
        .isInstanceOf(MemberListCodec.MalformedException.class)
        .hasMessageEndingWith("member 0 host (length 120) needs 120 bytes at offset 5, but only 30 remain");
  }

  @Test
  void decodeMembers_everyTruncation_failsCleanly() {
    for (int n = 0; n < TWO_MEMBERS.length; n++) {
      byte[] cut = Arrays.copyOf(TWO_MEMBERS, n);
      assertThatThrownBy(() -> MemberListCodec.decodeMembers(cut))
          .as("first %d bytes", n)
          .isInstanceOf(MemberListCodec.MalformedException.class);
    }
  }

  @Test
  void decodeMembers_trailingBytes_fail() {
    byte[] bytes = Arrays.copyOf(TWO_MEMBERS, TWO_MEMBERS.length + 3);

    assertThatThrownBy(() -> MemberListCodec.decodeMembers(bytes))
        .hasMessageEndingWith("3 trailing bytes after 2 members");
  }

  @Test
  void decodeMembers_unknownState_fails() {
    byte[] bytes = TWO_MEMBERS.clone();
    bytes[9] = 4; // first member's state

    assertThatThrownBy(() -> MemberListCodec.decodeMembers(bytes))
        .hasMessageEndingWith("member 0 state 4 is not one of 0..3 (ALIVE, SUSPECT, DEAD, LEFT), plus 16 while joining, 32 while departing");
  }

  @Test
  void decodeMembers_joiningBit_isAMemberThatOwnsNothingYet() {
    byte[] bytes = TWO_MEMBERS.clone();
    bytes[9] = 0x10; // first member: ALIVE, joining

    ClusterMember first = MemberListCodec.decodeMembers(bytes).get(0);

    assertThat(first.state()).isEqualTo(ClusterMember.State.ALIVE);
    assertThat(first.joining()).isTrue();
    assertThat(first.ownsKeys()).isFalse();
    assertThat(MemberListCodec.decodeMembers(TWO_MEMBERS).get(0).ownsKeys()).isTrue();
  }

  @Test
  void decodeMembers_departingBit_isAMemberThatStillOwns() {
    byte[] bytes = TWO_MEMBERS.clone();
    bytes[9] = 0x21; // first member: SUSPECT, departing

    ClusterMember first = MemberListCodec.decodeMembers(bytes).get(0);

    assertThat(first.state()).isEqualTo(ClusterMember.State.SUSPECT);
    assertThat(first.departing()).isTrue();
    assertThat(first.joining()).isFalse();
    assertThat(first.ownsKeys()).isTrue();
  }

  @Test
  void decodeMembers_portZeroOrEmptyIdOrControlCharacter_fail() {
    byte[] port = TWO_MEMBERS.clone();
    port[7] = 0;
    port[8] = 0;
    assertThatThrownBy(() -> MemberListCodec.decodeMembers(port)).hasMessageEndingWith("member 0: port 0 is outside 1..65535");

    byte[] control = TWO_MEMBERS.clone();
    control[3] = 0x07;
    assertThatThrownBy(() -> MemberListCodec.decodeMembers(control))
        .hasMessageContaining("member 0: member id contains the character 0x7");

    byte[] emptyId = {0, 1, 0, 2, 'h', '1', 0x1B, 0x58, 0, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9, 9};
    assertThatThrownBy(() -> MemberListCodec.decodeMembers(emptyId))
        .isInstanceOf(MemberListCodec.MalformedException.class);
  }

  @Test
  void decode_duplicateIds_fail() {
    byte[] bytes = {
        0x00, 0x02, // count 2
        0x01, 'a', 0x02, 'h', '1', 0x1B, 0x58, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, // "a" at h1:7000
        0x01, 'a', 0x02, 'h', '2', 0x1B, 0x58, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, // "a" again at h2:7000
    };

    assertThatThrownBy(() -> MemberListCodec.decode(reply(bytes, 1, 8, 0)))
        .hasMessageEndingWith("member id a appears twice");
  }

  @Test
  void owners_onlyAliveAndSuspectOwnKeys() {
    MemberList list = new MemberList(1, 8, true, 0, List.of(
        new ClusterMember("a", "h", 1, ClusterMember.State.ALIVE, 0),
        new ClusterMember("b", "h", 2, ClusterMember.State.SUSPECT, 0),
        new ClusterMember("c", "h", 3, ClusterMember.State.DEAD, 0),
        new ClusterMember("d", "h", 4, ClusterMember.State.LEFT, 0)));

    assertThat(list.owners()).extracting(m -> m.id()).containsExactlyInAnyOrder("a", "b");
  }
}
