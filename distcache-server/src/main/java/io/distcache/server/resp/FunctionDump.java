package io.distcache.server.resp;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/*
 * Design: FUNCTION DUMP's payload. Redis's is an RDB fragment (RDB_OPCODE_FUNCTION2 records, the
 * RDB version and a CRC64); distcache has no RDB, so its payload is its own (docs/PROTOCOL.md,
 * "Functions"): a payload from Redis is refused, and one from distcache cannot be restored into
 * Redis. It holds only the libraries' code: RESTORE loads each library again, with every check and
 * limit of FUNCTION LOAD, so a payload cannot smuggle in what LOAD would refuse.
 *
 *   bytes 0-3   magic "DCFN"
 *   byte  4     format version, 1
 *   bytes 5-8   number of libraries N, unsigned big-endian, at most FunctionRegistry.MAX_LIBRARIES
 *   N times     a library's code length L (4 bytes, big-endian), then its L bytes
 *   last 4      CRC-32 of every byte before it, big-endian
 *
 * RESTORE's argument is a client's bytes: every length is checked against what remains and
 * against the node's limits before anything is allocated, and a payload with bytes left over is
 * refused. A wrong magic, version or checksum gets Redis's "DUMP payload version or checksum are
 * wrong".
 */

/** Encodes and checks FUNCTION DUMP payloads. */
final class FunctionDump {
  private FunctionDump() {}

  static final byte[] MAGIC = {'D', 'C', 'F', 'N'};
  static final int VERSION = 1;
  static final String BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong";
  private static final int HEADER = 9;
  private static final int TRAILER = 4;

  /** The payload of {@code libraries}. */
  static byte[] encode(List<FunctionLibrary> libraries) {
    long size = HEADER + TRAILER;
    for (FunctionLibrary lib : libraries) {
      size += 4 + lib.code().length;
    }
    ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(size));
    out.put(MAGIC).put((byte) VERSION).putInt(libraries.size());
    for (FunctionLibrary lib : libraries) {
      out.putInt(lib.code().length).put(lib.code());
    }
    CRC32 crc = new CRC32();
    crc.update(out.array(), 0, out.position());
    out.putInt((int) crc.getValue());
    return out.array();
  }

  /** The libraries' code in {@code payload}; CommandException naming what is wrong with it. */
  static List<byte[]> decode(byte[] payload) {
    if (payload.length < HEADER + TRAILER) {
      throw new CommandException(BAD_PAYLOAD);
    }
    int body = payload.length - TRAILER;
    CRC32 crc = new CRC32();
    crc.update(payload, 0, body);
    ByteBuffer in = ByteBuffer.wrap(payload);
    if ((int) crc.getValue() != in.getInt(body)) {
      throw new CommandException(BAD_PAYLOAD);
    }
    for (int i = 0; i < MAGIC.length; i++) {
      if (in.get() != MAGIC[i]) {
        throw new CommandException(BAD_PAYLOAD);
      }
    }
    if (in.get() != VERSION) {
      throw new CommandException(BAD_PAYLOAD);
    }
    long count = Integer.toUnsignedLong(in.getInt());
    if (count > FunctionRegistry.MAX_LIBRARIES) {
      throw new CommandException("ERR the payload holds " + count + " function libraries, more than the limit of "
          + FunctionRegistry.MAX_LIBRARIES + " (function-max-libraries)");
    }
    List<byte[]> codes = new ArrayList<>((int) count);
    long total = 0;
    for (long i = 0; i < count; i++) {
      if (body - in.position() < 4) {
        throw new CommandException("ERR malformed payload: library " + (i + 1) + " of " + count + " has no length");
      }
      long length = Integer.toUnsignedLong(in.getInt());
      if (length > body - in.position()) {
        throw new CommandException("ERR malformed payload: library " + (i + 1) + " claims " + length + " bytes, "
            + (body - in.position()) + " remain");
      }
      total += length;
      if (total > FunctionRegistry.MAX_CODE_BYTES) {
        throw new CommandException("ERR the payload holds more than " + FunctionRegistry.MAX_CODE_BYTES
            + " bytes of function library code, the limit (function-max-code-bytes)");
      }
      byte[] code = new byte[(int) length];
      in.get(code);
      codes.add(code);
    }
    if (in.position() != body) {
      throw new CommandException("ERR malformed payload: " + (body - in.position()) + " bytes after the last library");
    }
    return codes;
  }
}
