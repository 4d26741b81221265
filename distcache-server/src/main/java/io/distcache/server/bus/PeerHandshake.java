package io.distcache.server.bus;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/*
 * Design: the bytes and the proofs of the peer handshake, with no I/O, so both ends (the dialing
 * PeerBus and the accepting net.PeerGate) share one definition and tests can drive it directly.
 *
 * PEER_HELLO request/reply values, all big-endian (docs/PROTOCOL.md, "The peer handshake"):
 *
 *   HELLO  (dialer -> acceptor)   step u8 = 1, version u8 = 3, mode u8, id [40], nonce [32], tls port u16
 *   reply  (acceptor -> dialer)   step u8 = 1, mode u8, id [40], nonce [32], tls port u16,
 *                                 proof [32 when mode 1]
 *   PROOF  (dialer -> acceptor)   step u8 = 2, proof [32]                       (mode 1 only)
 *   reply                         OK, empty value
 *
 *   mode: 0 no cluster secret, 1 the node has one. id: the sender's member id (40 lowercase hex).
 *   tls port: the sender's --tls-port, 0 without one (PeerTlsPorts: what TLS clients are told).
 *   Version 2 added the TLS ports; version 3 (same layout) binds them into the proofs. Any other
 *   version's HELLO is refused, naming both versions (a version 2 node's proofs would not match).
 *
 * Proofs (mode 1) are HMAC-SHA256 keyed with the shared secret over
 *
 *   label || dialer nonce || acceptor nonce || dialer id || acceptor id
 *         || dialer TLS port u16 || acceptor TLS port u16
 *
 * with label "distcache-bus-v3 acceptor" or "distcache-bus-v3 dialer". Each side computes them
 * over the TLS port it sent and the one it received, so a TLS port changed on the way (which
 * would send TLS clients elsewhere) makes the proof fail, as a changed id or nonce does. Both nonces are fresh
 * (SecureRandom, 32 bytes), so no proof can be replayed on another connection; the labels differ,
 * so a proof obtained from a node acting as acceptor can never serve as a dialer's proof. The
 * acceptor proves first, so a dialer never sends its proof (nor, later, its data) to a process
 * without the secret. The secret itself never crosses the wire, and proofs are compared with
 * MessageDigest.isEqual (constant time). What this does not give: integrity of later frames. An attacker on the path between two members could relay a handshake and then
 * inject frames; --tls-cluster yes runs the whole exchange inside mutual TLS, which closes that.
 */

/** The peer handshake's message layouts and HMAC proofs. */
public final class PeerHandshake {
  public static final int STEP_HELLO = 1;
  public static final int STEP_PROOF = 2;
  /**
   * 4: the layout and proofs of 3; nodes of version 4 compute placements with the slots evenly
   * spaced on the ring (Placement.position), which a version 3 node would never confirm, so the
   * two are refused by name rather than left waiting for each other. 5: the layout, proofs and
   * placements of 4; nodes of version 5 keep hashes and sets of more than 128 elements in
   * PackedIndex's layout, and values cross the peer links whole (replication, migration), where a
   * version 4 node would read such a value as an empty collection. 6: the layout, proofs and
   * placements of 5; nodes of version 6 write PackedIndex's version 2 (dead runs), which a version
   * 5 node refuses as corrupt, so a large hash or set replicated or migrated between the two would
   * be lost (a reviewer); also, a leaving node asks its replicas REPLICA_LACKS, which 5 does not know.
   * 7: the layout, proofs and placements of 6; REPLICATE frames may carry edit effects (EffectCodec's
   * EDIT_HASH and EDIT_SET) for large hashes and sets, which a version 6 replica refuses as a
   * malformed batch, so it would never apply another write of the owner's stream.
   * 8: the layout, proofs and effects of 7; members may be departing (GossipCodec's DEPARTING_BIT,
   * a "d=" line in the placement's fingerprint), which a version 7 node refuses as a malformed
   * status and would never confirm, and a departing member asks REPLICA_LACKS about every owner's
   * slots (LACKS_ANY_OWNER), which a version 7 node answers for its own slots only.
   * 9: the layout, proofs and placements of 8; nodes of version 9 keep a hash of more than 128
   * fields with field expiry times in PackedIndex's version 3 (its times beside the table) and
   * ship its edits with TIME, PUT_KEEPING_TIME and BOUND calls, which a version 8 node refuses as a
   * corrupt payload or a malformed batch, so such a hash replicated or migrated between the two
   * would be lost and the owner's stream stopped.
   * 10: the layout, proofs and placements of 9; REPLICATE frames may carry EffectCodec's
   * EDIT_STRING (the ranges APPEND, SETRANGE and the bit commands write into a string), which a
   * version 9 replica refuses as a malformed batch, stopping the owner's stream.
   * 11: the layout, proofs, placements and effects of 10; a REPLICATE stream id is larger than
   * every earlier link's of the same owner, and a version 11 replica refuses a smaller one as an
   * older link's: a version 10 owner's random ids would have every other new link refused.
   */
  public static final int VERSION = 11;
  public static final int MODE_OPEN = 0;
  public static final int MODE_SECRET = 1;
  public static final int ID_BYTES = 40;
  public static final int NONCE_BYTES = 32;
  public static final int PROOF_BYTES = 32;
  public static final int PORT_BYTES = 2;
  /** HELLO request: step, version, mode, id, nonce, TLS port. */
  public static final int HELLO_BYTES = 3 + ID_BYTES + NONCE_BYTES + PORT_BYTES;
  /** HELLO reply without the proof: step, mode, id, nonce, TLS port. */
  public static final int REPLY_BYTES = 2 + ID_BYTES + NONCE_BYTES + PORT_BYTES;
  public static final int PROOF_MESSAGE_BYTES = 1 + PROOF_BYTES;

  private static final byte[] ACCEPTOR_LABEL = "distcache-bus-v3 acceptor".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DIALER_LABEL = "distcache-bus-v3 dialer".getBytes(StandardCharsets.US_ASCII);
  private static final SecureRandom RANDOM = new SecureRandom();

  private PeerHandshake() {}

  /** A bad handshake message; the text says what was wrong (it is sent back and logged). */
  public static final class HandshakeException extends Exception {
    public HandshakeException(String message) {
      super(message);
    }
  }

  /** A HELLO as received: the sender's mode, id, nonce and TLS port (0: none). */
  public record Hello(int mode, String id, byte[] nonce, int tlsPort) {}

  /** A HELLO reply as received: the acceptor's mode, id, nonce, TLS port (0: none) and (mode 1) proof. */
  public record Reply(int mode, String id, byte[] nonce, byte[] proof, int tlsPort) {}

  public static byte[] newNonce() {
    byte[] n = new byte[NONCE_BYTES];
    RANDOM.nextBytes(n);
    return n;
  }

  /** A HELLO without a TLS port. */
  public static byte[] encodeHello(boolean secret, String id, byte[] nonce) {
    return encodeHello(secret, id, nonce, 0);
  }

  public static byte[] encodeHello(boolean secret, String id, byte[] nonce, int tlsPort) {
    ByteBuffer b = ByteBuffer.allocate(HELLO_BYTES);
    b.put((byte) STEP_HELLO).put((byte) VERSION).put((byte) (secret ? MODE_SECRET : MODE_OPEN));
    b.put(idBytes(id)).put(nonce).putShort((short) port(tlsPort));
    return b.array();
  }

  public static Hello decodeHello(byte[] v) throws HandshakeException {
    if (v.length >= 2 && v[0] == STEP_HELLO && v[1] != VERSION) {
      throw new HandshakeException("PEER_HELLO version " + (v[1] & 0xFF) + " is not supported (this node speaks " + VERSION + ")");
    }
    if (v.length != HELLO_BYTES) {
      throw new HandshakeException("PEER_HELLO of " + v.length + " bytes, expected " + HELLO_BYTES);
    }
    if (v[0] != STEP_HELLO) {
      throw new HandshakeException("PEER_HELLO step " + v[0] + " where step " + STEP_HELLO + " (HELLO) was expected");
    }
    int mode = mode(v[2]);
    String id = id(v, 3);
    byte[] nonce = new byte[NONCE_BYTES];
    System.arraycopy(v, 3 + ID_BYTES, nonce, 0, NONCE_BYTES);
    return new Hello(mode, id, nonce, u16(v, 3 + ID_BYTES + NONCE_BYTES));
  }

  /** The acceptor's reply without a TLS port; {@code proof} is null without a secret. */
  public static byte[] encodeReply(String id, byte[] nonce, byte[] proof) {
    return encodeReply(id, nonce, proof, 0);
  }

  /** The acceptor's reply; {@code proof} is null without a secret. */
  public static byte[] encodeReply(String id, byte[] nonce, byte[] proof, int tlsPort) {
    ByteBuffer b = ByteBuffer.allocate(REPLY_BYTES + (proof == null ? 0 : PROOF_BYTES));
    b.put((byte) STEP_HELLO).put((byte) (proof == null ? MODE_OPEN : MODE_SECRET));
    b.put(idBytes(id)).put(nonce).putShort((short) port(tlsPort));
    if (proof != null) {
      b.put(proof);
    }
    return b.array();
  }

  public static Reply decodeReply(byte[] v) throws HandshakeException {
    if (v.length < REPLY_BYTES || v[0] != STEP_HELLO) {
      throw new HandshakeException("malformed PEER_HELLO reply of " + v.length + " bytes");
    }
    int mode = mode(v[1]);
    int expected = REPLY_BYTES + (mode == MODE_SECRET ? PROOF_BYTES : 0);
    if (v.length != expected) {
      throw new HandshakeException("PEER_HELLO reply of " + v.length + " bytes, expected " + expected + " in mode " + mode);
    }
    String id = id(v, 2);
    byte[] nonce = new byte[NONCE_BYTES];
    System.arraycopy(v, 2 + ID_BYTES, nonce, 0, NONCE_BYTES);
    byte[] proof = null;
    if (mode == MODE_SECRET) {
      proof = new byte[PROOF_BYTES];
      System.arraycopy(v, REPLY_BYTES, proof, 0, PROOF_BYTES);
    }
    return new Reply(mode, id, nonce, proof, u16(v, 2 + ID_BYTES + NONCE_BYTES));
  }

  public static byte[] encodeProof(byte[] proof) {
    byte[] v = new byte[PROOF_MESSAGE_BYTES];
    v[0] = STEP_PROOF;
    System.arraycopy(proof, 0, v, 1, PROOF_BYTES);
    return v;
  }

  public static byte[] decodeProof(byte[] v) throws HandshakeException {
    if (v.length != PROOF_MESSAGE_BYTES || v[0] != STEP_PROOF) {
      throw new HandshakeException("expected the PEER_HELLO proof (" + PROOF_MESSAGE_BYTES + " bytes, step "
          + STEP_PROOF + "), got " + v.length + " bytes");
    }
    byte[] p = new byte[PROOF_BYTES];
    System.arraycopy(v, 1, p, 0, PROOF_BYTES);
    return p;
  }

  /** What the acceptor proves: it holds the secret, for these nonces, ids and TLS ports. */
  public static byte[] acceptorProof(ClusterSecret secret, byte[] dialerNonce, byte[] acceptorNonce, String dialerId,
      String acceptorId, int dialerTlsPort, int acceptorTlsPort) {
    return mac(secret, ACCEPTOR_LABEL, dialerNonce, acceptorNonce, dialerId, acceptorId, dialerTlsPort, acceptorTlsPort);
  }

  /** What the dialer proves, over the same fields under another label. */
  public static byte[] dialerProof(ClusterSecret secret, byte[] dialerNonce, byte[] acceptorNonce, String dialerId,
      String acceptorId, int dialerTlsPort, int acceptorTlsPort) {
    return mac(secret, DIALER_LABEL, dialerNonce, acceptorNonce, dialerId, acceptorId, dialerTlsPort, acceptorTlsPort);
  }

  /** Constant-time comparison, so the time taken says nothing about how many bytes matched. */
  public static boolean matches(byte[] expected, byte[] actual) {
    return actual != null && MessageDigest.isEqual(expected, actual);
  }

  private static byte[] mac(ClusterSecret secret, byte[] label, byte[] dialerNonce, byte[] acceptorNonce,
      String dialerId, String acceptorId, int dialerTlsPort, int acceptorTlsPort) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.bytes(), "HmacSHA256"));
      mac.update(label);
      mac.update(dialerNonce);
      mac.update(acceptorNonce);
      mac.update(idBytes(dialerId));
      mac.update(idBytes(acceptorId));
      mac.update(ByteBuffer.allocate(2 * PORT_BYTES).putShort((short) port(dialerTlsPort))
          .putShort((short) port(acceptorTlsPort)).array());
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
    }
  }

  private static int u16(byte[] v, int at) {
    return ((v[at] & 0xFF) << 8) | (v[at + 1] & 0xFF);
  }

  private static int port(int p) {
    if (p < 0 || p > 65535) {
      throw new IllegalArgumentException("TLS port " + p + " is out of range 0..65535");
    }
    return p;
  }

  private static int mode(byte b) throws HandshakeException {
    if (b != MODE_OPEN && b != MODE_SECRET) {
      throw new HandshakeException("PEER_HELLO mode " + (b & 0xFF) + " is neither 0 (no secret) nor 1 (secret)");
    }
    return b;
  }

  private static String id(byte[] v, int at) throws HandshakeException {
    for (int i = at; i < at + ID_BYTES; i++) {
      byte c = v[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        throw new HandshakeException("member id in PEER_HELLO is not " + ID_BYTES + " lowercase hex digits");
      }
    }
    return new String(v, at, ID_BYTES, StandardCharsets.US_ASCII);
  }

  private static byte[] idBytes(String id) {
    byte[] b = id.getBytes(StandardCharsets.US_ASCII);
    if (b.length != ID_BYTES) {
      throw new IllegalArgumentException("member id must be " + ID_BYTES + " characters, got " + b.length);
    }
    return b;
  }
}
