package io.distcache.server.membership;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.membership.GossipCodec.MalformedGossipException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GossipCodecTest {
  private static final Member A = new Member("a1", new Address("h", 7000));
  private static final Member B = new Member("018bcfe56800-68fb0e6f684df992", new Address("10.0.0.2", 7001));
  private static final List<MemberStatus> UPDATES = List.of(
      new MemberStatus(A, MemberState.ALIVE, 0),
      new MemberStatus(B, MemberState.SUSPECT, 3),
      new MemberStatus(new Member("c", new Address("::1", 65535)), MemberState.DEAD, Long.MAX_VALUE),
      new MemberStatus(new Member("d", new Address("d.example", 1)), MemberState.LEFT, 9));

  /** An ACK from a1@h:7000, seq 5, carrying a1 ALIVE#0. */
  private static final byte[] ACK_FIXTURE = {
    1, // format
    2, // type ACK
    2, 'a', '1', 1, 'h', 0x1B, 0x58, // sender: id "a1", host "h", port 7000
    0, 0, 0, 0, 0, 0, 0, 5, // seq
    0, 1, // one status
    2, 'a', '1', 1, 'h', 0x1B, 0x58, // its member
    0, // ALIVE
    0, 0, 0, 0, 0, 0, 0, 0, // incarnation 0
  };

  @Test
  void encode_ack_writesExactBytes() {
    GossipMessage ack = new GossipMessage.Ack(A, 5, List.of(new MemberStatus(A, MemberState.ALIVE, 0)));

    assertThat(GossipCodec.encode(ack)).isEqualTo(ACK_FIXTURE);
    assertThat(GossipCodec.decode(ACK_FIXTURE)).isEqualTo(ack);
  }

  /** Also proves the computed size is exact: a larger buffer would leave trailing bytes, which decode rejects. */
  @Test
  void decode_encodedMessageOfEveryType_roundTrips() {
    List<GossipMessage> messages = List.of(
        new GossipMessage.Ping(A, 1, B.id(), UPDATES),
        new GossipMessage.Ping(A, Long.MIN_VALUE, "x", List.of()),
        new GossipMessage.Ack(B, -1, UPDATES),
        new GossipMessage.PingReq(A, 77, B, UPDATES),
        new GossipMessage.Sync(B, false, UPDATES),
        new GossipMessage.Sync(B, true, List.of()),
        new GossipMessage.Gossip(A, UPDATES));

    for (GossipMessage m : messages) {
      assertThat(GossipCodec.decode(GossipCodec.encode(m))).isEqualTo(m);
    }
  }

  @Test
  void joiningStatus_roundTrips_withTheJoiningBitInItsStateByte() {
    MemberStatus joining = new MemberStatus(A, MemberState.SUSPECT, 3, true);
    byte[] bytes = GossipCodec.encodeStatuses(List.of(joining));

    assertThat(GossipCodec.decodeStatuses(bytes)).containsExactly(joining);
    assertThat(bytes[bytes.length - 9]).isEqualTo((byte) (GossipCodec.JOINING_BIT | MemberState.SUSPECT.ordinal()));
    assertThat(joining.owns()).isFalse();
  }

  @Test
  void departingStatus_roundTrips_withTheDepartingBitInItsStateByte_andStillOwns() {
    MemberStatus departing = new MemberStatus(A, MemberState.ALIVE, 4, false, true);
    byte[] bytes = GossipCodec.encodeStatuses(List.of(departing));

    assertThat(GossipCodec.decodeStatuses(bytes)).containsExactly(departing);
    assertThat(bytes[bytes.length - 9]).isEqualTo((byte) (GossipCodec.DEPARTING_BIT | MemberState.ALIVE.ordinal()));
    assertThat(departing.owns()).isTrue();
  }

  @Test
  void decodeStatuses_encodedList_roundTrips() {
    assertThat(GossipCodec.decodeStatuses(GossipCodec.encodeStatuses(UPDATES))).isEqualTo(UPDATES);
    assertThat(GossipCodec.decodeStatuses(new byte[] {0, 0})).isEmpty();
  }

  @Test
  void decode_everyTruncation_throwsMalformed() {
    byte[] full = GossipCodec.encode(new GossipMessage.PingReq(A, 77, B, UPDATES));
    for (int len = 0; len < full.length; len++) {
      byte[] cut = Arrays.copyOf(full, len);
      assertThatThrownBy(() -> GossipCodec.decode(cut)).as("first %d bytes", len)
          .isInstanceOf(MalformedGossipException.class);
    }
  }

  @Test
  void decode_trailingBytes_throwsMalformed() {
    byte[] longer = Arrays.copyOf(ACK_FIXTURE, ACK_FIXTURE.length + 1);

    assertThatThrownBy(() -> GossipCodec.decode(longer))
        .isInstanceOf(MalformedGossipException.class).hasMessage("1 trailing bytes after the message");
  }

  @Test
  void decode_badHeader_throwsNamingTheValue() {
    assertThatThrownBy(() -> GossipCodec.decode(with(ACK_FIXTURE, 0, 9)))
        .isInstanceOf(MalformedGossipException.class).hasMessage("format 9 is not supported, expected 1");
    assertThatThrownBy(() -> GossipCodec.decode(with(ACK_FIXTURE, 1, 0x33)))
        .isInstanceOf(MalformedGossipException.class).hasMessage("message type 51 is unknown");
  }

  @Test
  void decode_badFields_throwNamingTheField() {
    // sender id length 200 > 64
    assertThatThrownBy(() -> GossipCodec.decode(with(ACK_FIXTURE, 2, 200)))
        .isInstanceOf(MalformedGossipException.class).hasMessage("sender id length 200 exceeds the limit 64");
    // a control character in the id
    assertThatThrownBy(() -> GossipCodec.decode(with(ACK_FIXTURE, 3, 0x07)))
        .isInstanceOf(MalformedGossipException.class).hasMessage("sender id contains the byte 0x7 at 0");
    // port 0
    byte[] port0 = with(with(ACK_FIXTURE, 7, 0), 8, 0);
    assertThatThrownBy(() -> GossipCodec.decode(port0))
        .isInstanceOf(MalformedGossipException.class).hasMessage("port 0 is outside 1..65535");
    // state 4
    assertThatThrownBy(() -> GossipCodec.decode(with(ACK_FIXTURE, 26, 4)))
        .isInstanceOf(MalformedGossipException.class).hasMessage("status 0: state 4 is unknown");
    // incarnation with the sign bit set
    assertThatThrownBy(() -> GossipCodec.decode(with(ACK_FIXTURE, 27, 0x80)))
        .isInstanceOf(MalformedGossipException.class).hasMessageContaining("status 0: incarnation -").hasMessageEndingWith("is negative");
    // string length beyond the input
    byte[] shortHost = Arrays.copyOf(with(ACK_FIXTURE, 5, 30), 20);
    assertThatThrownBy(() -> GossipCodec.decode(shortHost))
        .isInstanceOf(MalformedGossipException.class).hasMessage("sender host length 30 exceeds the 14 bytes left");
  }

  @Test
  void decode_countsBeyondLimitOrInput_throwBeforeAllocating() {
    // count 65535 > 64
    assertThatThrownBy(() -> GossipCodec.decode(with(with(ACK_FIXTURE, 17, 0xFF), 18, 0xFF)))
        .isInstanceOf(MalformedGossipException.class).hasMessage("status count 65535 exceeds the limit 64");
    // count 60 cannot fit in the 16 bytes that follow
    assertThatThrownBy(() -> GossipCodec.decode(with(with(ACK_FIXTURE, 17, 0x00), 18, 0x3C)))
        .isInstanceOf(MalformedGossipException.class).hasMessage("status count 60 does not fit in the 16 bytes left");
  }

  @Test
  void decode_syncWithUnknownFlag_throwsMalformed() {
    byte[] sync = GossipCodec.encode(new GossipMessage.Sync(A, true, List.of()));
    int flagsAt = 2 + 7;

    assertThatThrownBy(() -> GossipCodec.decode(with(sync, flagsAt, 3)))
        .isInstanceOf(MalformedGossipException.class).hasMessage("sync flags 0x3 has unknown bits");
  }

  @Test
  void decode_randomBytesAndMutations_onlyEverThrowMalformed() {
    Random random = new Random(3);
    byte[] valid = GossipCodec.encode(new GossipMessage.Ping(A, 1, B.id(), UPDATES));
    for (int i = 0; i < 20_000; i++) {
      byte[] input;
      if (i % 2 == 0) {
        input = new byte[random.nextInt(64)];
        random.nextBytes(input);
        if (input.length > 1) {
          input[0] = 1;
          input[1] = (byte) (1 + random.nextInt(5));
        }
      } else {
        input = valid.clone();
        input[random.nextInt(input.length)] = (byte) random.nextInt(256);
      }
      try {
        GossipCodec.decode(input);
      } catch (MalformedGossipException expected) {
        assertThat(expected.getMessage()).isNotBlank();
      }
    }
  }

  @Test
  void encode_tooManyStatuses_throwsNamingTheLimit() {
    List<MemberStatus> many = new ArrayList<>();
    for (int i = 0; i <= GossipCodec.MAX_STATUSES; i++) {
      many.add(new MemberStatus(new Member("m" + i, new Address("h", 1)), MemberState.ALIVE, 0));
    }

    assertThatThrownBy(() -> GossipCodec.encode(new GossipMessage.Gossip(A, many)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("message carries 65 statuses, the limit is 64");
  }

  private static byte[] with(byte[] bytes, int index, int value) {
    byte[] copy = bytes.clone();
    copy[index] = (byte) value;
    return copy;
  }
}
