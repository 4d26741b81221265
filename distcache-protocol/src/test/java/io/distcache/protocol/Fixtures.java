package io.distcache.protocol;

/**
 * Frames as bytes, one comment per byte or field. These are the worked examples of
 * docs/PROTOCOL.md ("Binary protocol", "Worked examples"): change both together.
 */
final class Fixtures {
  private Fixtures() {}

  /** PING request, id 1, no payload. */
  static final byte[] PING_REQUEST = bytes(
      0xDC, // magic
      0x01, // version 1
      0x01, // opcode PING
      0x00, // flags: none
      0x00, 0x00, 0x00, 0x01, // request id 1
      0x00, 0x00, // status 0 (unused in requests)
      0x00, 0x00, // extras length 0
      0x00, 0x00, 0x00, 0x00, // key length 0
      0x00, 0x00, 0x00, 0x00); // value length 0

  /** PING response to id 1: OK, nothing echoed. */
  static final byte[] PING_RESPONSE = bytes(
      0xDC, // magic
      0x01, // version 1
      0x01, // opcode PING
      0x80, // flags: RESPONSE
      0x00, 0x00, 0x00, 0x01, // request id 1
      0x00, 0x00, // status OK
      0x00, 0x00, // extras length 0
      0x00, 0x00, 0x00, 0x00, // key length 0
      0x00, 0x00, 0x00, 0x00); // value length 0

  /** SET "foo" = "bar" with a 60 s TTL, id 2. */
  static final byte[] SET_WITH_TTL_REQUEST = bytes(
      0xDC, // magic
      0x01, // version 1
      0x03, // opcode SET
      0x00, // flags: none (an unconditional write, ttl relative)
      0x00, 0x00, 0x00, 0x02, // request id 2
      0x00, 0x00, // status 0 (unused in requests)
      0x00, 0x08, // extras length 8: one extra
      0x00, 0x00, 0x00, 0x03, // key length 3
      0x00, 0x00, 0x00, 0x03, // value length 3
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xEA, 0x60, // extra 0: ttl 60000 ms
      0x66, 0x6F, 0x6F, // key "foo"
      0x62, 0x61, 0x72); // value "bar"

  /**
   * SET response to id 2: OK, the entry's new version is 115, what a fresh node with 64 store
   * segments answers: the first write of segment 51, where "foo" lives, (1 << 6) | 51.
   */
  static final byte[] SET_RESPONSE = bytes(
      0xDC, // magic
      0x01, // version 1
      0x03, // opcode SET
      0x80, // flags: RESPONSE
      0x00, 0x00, 0x00, 0x02, // request id 2
      0x00, 0x00, // status OK
      0x00, 0x08, // extras length 8: one extra
      0x00, 0x00, 0x00, 0x00, // key length 0
      0x00, 0x00, 0x00, 0x00, // value length 0
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x73); // extra 0: version 115

  /** GET "foo", id 3. */
  static final byte[] GET_REQUEST = bytes(
      0xDC, // magic
      0x01, // version 1
      0x02, // opcode GET
      0x00, // flags: none
      0x00, 0x00, 0x00, 0x03, // request id 3
      0x00, 0x00, // status 0 (unused in requests)
      0x00, 0x00, // extras length 0
      0x00, 0x00, 0x00, 0x03, // key length 3
      0x00, 0x00, 0x00, 0x00, // value length 0
      0x66, 0x6F, 0x6F); // key "foo"

  /** GET response to id 3, a hit: OK, value "bar". */
  static final byte[] GET_HIT_RESPONSE = bytes(
      0xDC, // magic
      0x01, // version 1
      0x02, // opcode GET
      0x80, // flags: RESPONSE
      0x00, 0x00, 0x00, 0x03, // request id 3
      0x00, 0x00, // status OK
      0x00, 0x00, // extras length 0
      0x00, 0x00, 0x00, 0x00, // key length 0
      0x00, 0x00, 0x00, 0x03, // value length 3
      0x62, 0x61, 0x72); // value "bar"

  /** GET response to id 4, a miss: NOT_FOUND, no value. */
  static final byte[] GET_MISS_RESPONSE = bytes(
      0xDC, // magic
      0x01, // version 1
      0x02, // opcode GET
      0x80, // flags: RESPONSE
      0x00, 0x00, 0x00, 0x04, // request id 4
      0x00, 0x01, // status NOT_FOUND
      0x00, 0x00, // extras length 0
      0x00, 0x00, 0x00, 0x00, // key length 0
      0x00, 0x00, 0x00, 0x00); // value length 0

  /** INCREMENT "foo" by 1, id 5. */
  static final byte[] INCREMENT_REQUEST = bytes(
      0xDC, // magic
      0x01, // version 1
      0x0B, // opcode INCREMENT
      0x00, // flags: none
      0x00, 0x00, 0x00, 0x05, // request id 5
      0x00, 0x00, // status 0 (unused in requests)
      0x00, 0x08, // extras length 8: one extra
      0x00, 0x00, 0x00, 0x03, // key length 3
      0x00, 0x00, 0x00, 0x00, // value length 0
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // extra 0: delta 1
      0x66, 0x6F, 0x6F); // key "foo"

  /** INCREMENT response to id 5, an error: NOT_A_NUMBER, message "value is not an integer or out of range" (Redis's). */
  static final byte[] NOT_A_NUMBER_RESPONSE = bytes(
      0xDC, // magic
      0x01, // version 1
      0x0B, // opcode INCREMENT
      0x80, // flags: RESPONSE
      0x00, 0x00, 0x00, 0x05, // request id 5
      0x00, 0x04, // status NOT_A_NUMBER
      0x00, 0x00, // extras length 0
      0x00, 0x00, 0x00, 0x00, // key length 0
      0x00, 0x00, 0x00, 0x27, // value length 39
      0x76, 0x61, 0x6C, 0x75, 0x65, 0x20, 0x69, 0x73, 0x20, 0x6E, // "value is n"
      0x6F, 0x74, 0x20, 0x61, 0x6E, 0x20, 0x69, 0x6E, 0x74, 0x65, // "ot an inte"
      0x67, 0x65, 0x72, 0x20, 0x6F, 0x72, 0x20, 0x6F, 0x75, 0x74, // "ger or out"
      0x20, 0x6F, 0x66, 0x20, 0x72, 0x61, 0x6E, 0x67, 0x65); // " of range"

  /** A request with opcode 0x7F, which no version defines, id 6. */
  static final byte[] UNKNOWN_OPCODE_REQUEST = bytes(
      0xDC, // magic
      0x01, // version 1
      0x7F, // opcode 0x7F: unknown
      0x00, // flags: none
      0x00, 0x00, 0x00, 0x06, // request id 6
      0x00, 0x00, // status 0 (unused in requests)
      0x00, 0x00, // extras length 0
      0x00, 0x00, 0x00, 0x01, // key length 1
      0x00, 0x00, 0x00, 0x00, // value length 0
      0x6B); // key "k"

  /** A header declaring a 2 GiB value for SET, id 7; no body follows. */
  static final byte[] HUGE_VALUE_HEADER = bytes(
      0xDC, // magic
      0x01, // version 1
      0x03, // opcode SET
      0x00, // flags: none
      0x00, 0x00, 0x00, 0x07, // request id 7
      0x00, 0x00, // status 0 (unused in requests)
      0x00, 0x00, // extras length 0
      0x00, 0x00, 0x00, 0x01, // key length 1
      0x80, 0x00, 0x00, 0x00); // value length 2^31 = 2 GiB

  static byte[] bytes(int... values) {
    byte[] out = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = (byte) values[i];
    }
    return out;
  }

  static byte[] concat(byte[]... parts) {
    int size = 0;
    for (byte[] p : parts) {
      size += p.length;
    }
    byte[] out = new byte[size];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }
}
