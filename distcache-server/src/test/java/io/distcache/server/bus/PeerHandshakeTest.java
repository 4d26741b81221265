package io.distcache.server.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeerHandshakeTest {
  private static final String DIALER = "0000000000000000000000000000000000000001";
  private static final String ACCEPTOR = "0000000000000000000000000000000000000002";
  private static final ClusterSecret SECRET = ClusterSecret.ofText("0123456789abcdef-secret");
  private static final byte[] N1 = filled(1);
  private static final byte[] N2 = filled(2);

  private static byte[] filled(int b) {
    byte[] n = new byte[PeerHandshake.NONCE_BYTES];
    Arrays.fill(n, (byte) b);
    return n;
  }

  @Test
  void hello_roundTrips_withTheExactLayout() throws Exception {
    byte[] v = PeerHandshake.encodeHello(true, DIALER, N1, 7443);

    assertThat(v).hasSize(77);
    assertThat(v[0]).isEqualTo((byte) 1); // step HELLO
    assertThat(v[1]).isEqualTo((byte) 11); // version
    assertThat(v[2]).isEqualTo((byte) 1); // mode: secret
    assertThat(new String(v, 3, 40, StandardCharsets.US_ASCII)).isEqualTo(DIALER);
    PeerHandshake.Hello h = PeerHandshake.decodeHello(v);
    assertThat(h.mode()).isEqualTo(PeerHandshake.MODE_SECRET);
    assertThat(h.id()).isEqualTo(DIALER);
    assertThat(h.nonce()).isEqualTo(N1);
    assertThat(v[75]).isEqualTo((byte) 0x1D); // TLS port 7443 = 0x1D13, big-endian
    assertThat(v[76]).isEqualTo((byte) 0x13);
    assertThat(h.tlsPort()).isEqualTo(7443);
  }

  @Test
  void reply_roundTrips_withAndWithoutProof() throws Exception {
    byte[] proof = PeerHandshake.acceptorProof(SECRET, N1, N2, DIALER, ACCEPTOR, 0, 6380);

    PeerHandshake.Reply withProof = PeerHandshake.decodeReply(PeerHandshake.encodeReply(ACCEPTOR, N2, proof, 6380));
    PeerHandshake.Reply open = PeerHandshake.decodeReply(PeerHandshake.encodeReply(ACCEPTOR, N2, null));

    assertThat(withProof.proof()).isEqualTo(proof);
    assertThat(withProof.tlsPort()).isEqualTo(6380);
    assertThat(open.tlsPort()).isZero();
    assertThat(withProof.id()).isEqualTo(ACCEPTOR);
    assertThat(open.mode()).isEqualTo(PeerHandshake.MODE_OPEN);
    assertThat(open.proof()).isNull();
  }

  @Test
  void proofs_dependOnSecretNoncesIdsTlsPortsAndRole() {
    byte[] p = PeerHandshake.dialerProof(SECRET, N1, N2, DIALER, ACCEPTOR, 7443, 7444);

    assertThat(p).hasSize(32).isEqualTo(PeerHandshake.dialerProof(SECRET, N1, N2, DIALER, ACCEPTOR, 7443, 7444));
    assertThat(p).isNotEqualTo(PeerHandshake.acceptorProof(SECRET, N1, N2, DIALER, ACCEPTOR, 7443, 7444));
    assertThat(p).isNotEqualTo(
        PeerHandshake.dialerProof(ClusterSecret.ofText("another secret, 16+"), N1, N2, DIALER, ACCEPTOR, 7443, 7444));
    assertThat(p).isNotEqualTo(PeerHandshake.dialerProof(SECRET, N2, N1, DIALER, ACCEPTOR, 7443, 7444));
    assertThat(p).isNotEqualTo(PeerHandshake.dialerProof(SECRET, N1, N2, ACCEPTOR, DIALER, 7443, 7444));
    // The TLS ports are bound: either one changed, or the two swapped, gives another proof.
    assertThat(p).isNotEqualTo(PeerHandshake.dialerProof(SECRET, N1, N2, DIALER, ACCEPTOR, 7445, 7444));
    assertThat(p).isNotEqualTo(PeerHandshake.dialerProof(SECRET, N1, N2, DIALER, ACCEPTOR, 7443, 0));
    assertThat(p).isNotEqualTo(PeerHandshake.dialerProof(SECRET, N1, N2, DIALER, ACCEPTOR, 7444, 7443));
    assertThat(PeerHandshake.matches(p, p.clone())).isTrue();
    assertThat(PeerHandshake.matches(p, null)).isFalse();
  }

  @Test
  void decode_badInput_namesWhatIsWrong() {
    byte[] hello = PeerHandshake.encodeHello(false, DIALER, N1);
    byte[] badVersion = hello.clone();
    badVersion[1] = 12;
    byte[] badId = hello.clone();
    badId[3] = 'G';

    assertThatThrownBy(() -> PeerHandshake.decodeHello(new byte[3]))
        .hasMessage("PEER_HELLO of 3 bytes, expected 77");
    assertThatThrownBy(() -> PeerHandshake.decodeHello(badVersion))
        .hasMessage("PEER_HELLO version 12 is not supported (this node speaks 11)");
    // A version 10 HELLO (same layout, proofs, placements and effects; random stream ids) is refused.
    byte[] v10 = hello.clone();
    v10[1] = 10;
    assertThatThrownBy(() -> PeerHandshake.decodeHello(v10))
        .hasMessage("PEER_HELLO version 10 is not supported (this node speaks 11)");
    // A version 9 HELLO (same layout, proofs and placements; no string edits in REPLICATE) is refused.
    byte[] v9 = hello.clone();
    v9[1] = 9;
    assertThatThrownBy(() -> PeerHandshake.decodeHello(v9))
        .hasMessage("PEER_HELLO version 9 is not supported (this node speaks 11)");
    // A version 8 HELLO (same layout, proofs and placements; no timed hash index, no time calls) is refused.
    byte[] v8 = hello.clone();
    v8[1] = 8;
    assertThatThrownBy(() -> PeerHandshake.decodeHello(v8))
        .hasMessage("PEER_HELLO version 8 is not supported (this node speaks 11)");
    // A version 7 HELLO (same layout, proofs and effects; no departing members) is refused.
    byte[] v7 = hello.clone();
    v7[1] = 7;
    assertThatThrownBy(() -> PeerHandshake.decodeHello(v7))
        .hasMessage("PEER_HELLO version 7 is not supported (this node speaks 11)");
    // A version 6 HELLO (same layout, proofs and placements; no edit effects in REPLICATE) is refused.
    byte[] v6 = hello.clone();
    v6[1] = 6;
    assertThatThrownBy(() -> PeerHandshake.decodeHello(v6))
        .hasMessage("PEER_HELLO version 6 is not supported (this node speaks 11)");
    // A version 5 HELLO (same layout, proofs and placements; large hashes and sets without dead runs) is refused.
    byte[] v5 = hello.clone();
    v5[1] = 5;
    assertThatThrownBy(() -> PeerHandshake.decodeHello(v5))
        .hasMessage("PEER_HELLO version 5 is not supported (this node speaks 11)");
    // A version 4 HELLO (same layout, proofs and placements; large hashes and sets not indexed) is refused.
    byte[] v4 = hello.clone();
    v4[1] = 4;
    assertThatThrownBy(() -> PeerHandshake.decodeHello(v4))
        .hasMessage("PEER_HELLO version 4 is not supported (this node speaks 11)");
    // A version 3 HELLO (same layout and proofs; placements with hashed slot positions) is refused.
    byte[] v3 = hello.clone();
    v3[1] = 3;
    assertThatThrownBy(() -> PeerHandshake.decodeHello(v3))
        .hasMessage("PEER_HELLO version 3 is not supported (this node speaks 11)");
    // A version 2 HELLO (same layout, proofs without the TLS ports) is refused by its version.
    byte[] v2 = hello.clone();
    v2[1] = 2;
    assertThatThrownBy(() -> PeerHandshake.decodeHello(v2))
        .hasMessage("PEER_HELLO version 2 is not supported (this node speaks 11)");
    // A version 1 HELLO (75 bytes, no TLS port) is named as such, not as a length error.
    byte[] v1 = java.util.Arrays.copyOf(hello, 75);
    v1[1] = 1;
    assertThatThrownBy(() -> PeerHandshake.decodeHello(v1))
        .hasMessage("PEER_HELLO version 1 is not supported (this node speaks 11)");
    assertThatThrownBy(() -> PeerHandshake.decodeHello(badId))
        .hasMessage("member id in PEER_HELLO is not 40 lowercase hex digits");
    assertThatThrownBy(() -> PeerHandshake.decodeProof(new byte[5]))
        .hasMessageContaining("expected the PEER_HELLO proof (33 bytes");
  }

  @Test
  void secret_isNeverPrinted_andTooShortIsRefused(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("secret");
    Files.writeString(file, "a-secret-of-enough-length\n");
    Path shortFile = dir.resolve("short");
    Files.writeString(shortFile, "tiny\n");

    ClusterSecret s = ClusterSecret.fromFile(file);

    assertThat(s.bytes()).isEqualTo("a-secret-of-enough-length".getBytes(StandardCharsets.US_ASCII));
    assertThat(s.toString()).doesNotContain("secret-of");
    assertThatThrownBy(() -> ClusterSecret.fromFile(shortFile))
        .hasMessage("cluster secret file " + shortFile + " holds 4 bytes; at least 16 are needed");
    assertThatThrownBy(() -> ClusterSecret.fromFile(dir.resolve("missing")))
        .hasMessageStartingWith("cannot read cluster secret file");
  }
}
