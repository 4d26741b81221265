package io.distcache.protocol;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/*
 * Design: a TRANSACTION frame carries whole requests inside its value, so the batch crosses a
 * peer connection as one frame and runs on the owner as one unit. Requests and replies are not
 * nested frames with their own headers (magic, version, request id mean nothing inside a batch):
 * each is opcode, flags, status, extras, key and value, the fields a Frame needs. Decoding checks
 * every count and length against the bytes left before allocating, as ListCodec does.
 */

/**
 * The value of a {@link Opcode#TRANSACTION} request and of its reply. Big-endian:
 *
 * <ul>
 *   <li>request: condition count u32, then per condition: key length u32, key, expected version
 *       i64 ({@link #ABSENT}: the key must not exist), expected expireAtMillis i64 ({@link
 *       #ANY_EXPIRY}: not compared; 0: no expiry); then request count u32, then per request an
 *       item;
 *   <li>reply: count u32, then per reply an item;
 *   <li>item: opcode u8, flags u8, status u16, extras count u8 (at most 8), extras i64 each, key
 *       length u32, key, value length u32, value.
 * </ul>
 */
public final class TransactionCodec {
  private TransactionCodec() {}

  /** A condition's expected version meaning "the key is absent". */
  public static final long ABSENT = 0;
  /** A condition's expected expiry meaning "whatever the expiry". */
  public static final long ANY_EXPIRY = -1;
  /** An item with no extras, key or value: opcode, flags, status, extras count, two lengths. */
  private static final int ITEM_MIN_BYTES = 13;

  /** The key must have this version (or be absent) and, unless ANY_EXPIRY, this expiry. */
  public record Condition(byte[] key, long version, long expireAtMillis) {}

  /** A decoded TRANSACTION request. */
  public record Batch(List<Condition> conditions, List<Frame> requests) {}

  public static byte[] encodeRequest(List<Condition> conditions, List<Frame> requests) {
    long size = 8;
    for (Condition c : conditions) {
      size += 4 + c.key().length + 16;
    }
    for (Frame f : requests) {
      size += itemSize(f);
    }
    ByteBuffer b = allocate(size);
    b.putInt(conditions.size());
    for (Condition c : conditions) {
      b.putInt(c.key().length).put(c.key()).putLong(c.version()).putLong(c.expireAtMillis());
    }
    b.putInt(requests.size());
    for (Frame f : requests) {
      putItem(b, f);
    }
    return b.array();
  }

  /** The bytes {@link #encodeReplies} would produce, without building them. */
  public static long repliesSize(List<Frame> replies) {
    long size = 4;
    for (Frame f : replies) {
      size += itemSize(f);
    }
    return size;
  }

  public static byte[] encodeReplies(List<Frame> replies) {
    ByteBuffer b = allocate(repliesSize(replies));
    b.putInt(replies.size());
    for (Frame f : replies) {
      putItem(b, f);
    }
    return b.array();
  }

  public static Batch decodeRequest(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    try {
      int conditions = count(b, 20, "condition");
      List<Condition> cs = new ArrayList<>(conditions);
      for (int i = 0; i < conditions; i++) {
        byte[] key = bytes(b, "condition key");
        cs.add(new Condition(key, b.getLong(), b.getLong()));
      }
      int requests = count(b, ITEM_MIN_BYTES, "request");
      List<Frame> fs = new ArrayList<>(requests);
      for (int i = 0; i < requests; i++) {
        fs.add(item(b, false));
      }
      trailing(b);
      return new Batch(cs, fs);
    } catch (BufferUnderflowException e) {
      throw new ListCodec.MalformedListException("transaction truncated at byte " + b.position() + " of " + bytes.length);
    }
  }

  /**
   * True when a request of the batch {@code bytes} has opcode {@code op}, found without decoding
   * the batch (a node runs a batch holding a SCRIPT on its script lane); false for a malformed
   * batch, which {@link #decodeRequest} refuses where it runs.
   */
  public static boolean holds(byte[] bytes, Opcode op) {
    if (bytes == null) {
      return false;
    }
    ByteBuffer b = ByteBuffer.wrap(bytes);
    try {
      int conditions = count(b, 20, "condition");
      for (int i = 0; i < conditions; i++) {
        skip(b, b.getInt());
        skip(b, 16);
      }
      int requests = count(b, ITEM_MIN_BYTES, "request");
      for (int i = 0; i < requests; i++) {
        if (b.get() == op.code()) {
          return true;
        }
        skip(b, 3);
        skip(b, 8L * (b.get() & 0xFF));
        skip(b, b.getInt());
        skip(b, b.getInt());
      }
      return false;
    } catch (BufferUnderflowException | ListCodec.MalformedListException e) {
      return false;
    }
  }

  private static void skip(ByteBuffer b, long n) {
    if (n < 0 || n > b.remaining()) {
      throw new ListCodec.MalformedListException("length " + n + " exceeds the " + b.remaining() + " bytes left");
    }
    b.position(b.position() + (int) n);
  }

  public static List<Frame> decodeReplies(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    try {
      int n = count(b, ITEM_MIN_BYTES, "reply");
      List<Frame> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        out.add(item(b, true));
      }
      trailing(b);
      return out;
    } catch (BufferUnderflowException e) {
      throw new ListCodec.MalformedListException("transaction reply truncated at byte " + b.position() + " of " + bytes.length);
    }
  }

  /** The bytes one reply takes in an encoded batch reply (repliesSize is 4 plus the sum of these). */
  public static long itemSize(Frame f) {
    return 5L + 8L * f.extras().length + 4 + f.key().length + 4 + f.value().length;
  }

  private static void putItem(ByteBuffer b, Frame f) {
    b.put(f.opcode()).put((byte) f.flags()).putShort(f.status().code()).put((byte) f.extras().length);
    for (long e : f.extras()) {
      b.putLong(e);
    }
    b.putInt(f.key().length).put(f.key()).putInt(f.value().length).put(f.value());
  }

  private static Frame item(ByteBuffer b, boolean reply) {
    byte opcode = b.get();
    int flags = b.get() & 0xFF;
    int code = b.getShort() & 0xFFFF;
    Status status = Status.fromCode(code);
    if (status == null || (!reply && status != Status.OK)) {
      throw new ListCodec.MalformedListException("transaction item with status " + code);
    }
    int extras = b.get() & 0xFF;
    if (extras > ProtocolConstants.MAX_EXTRAS) {
      throw new ListCodec.MalformedListException(
          "transaction item with " + extras + " extras; at most " + ProtocolConstants.MAX_EXTRAS);
    }
    long[] ex = extras == 0 ? Frame.NO_EXTRAS : new long[extras];
    for (int i = 0; i < extras; i++) {
      ex[i] = b.getLong();
    }
    byte[] key = bytes(b, "key");
    byte[] value = bytes(b, "value");
    return new Frame(opcode, flags, 0, status, ex, key, value);
  }

  private static int count(ByteBuffer b, int minItemBytes, String what) {
    int n = b.getInt();
    if (n < 0 || (long) n * minItemBytes > b.remaining()) {
      throw new ListCodec.MalformedListException(
          what + " count " + n + " does not fit the " + b.remaining() + " bytes left");
    }
    return n;
  }

  private static byte[] bytes(ByteBuffer b, String what) {
    int len = b.getInt();
    if (len < 0 || len > b.remaining()) {
      throw new ListCodec.MalformedListException(what + " length " + len + " exceeds the " + b.remaining() + " bytes left");
    }
    byte[] out = new byte[len];
    b.get(out);
    return out;
  }

  private static void trailing(ByteBuffer b) {
    if (b.hasRemaining()) {
      throw new ListCodec.MalformedListException(b.remaining() + " trailing bytes after the transaction");
    }
  }

  private static ByteBuffer allocate(long size) {
    if (size > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("transaction of " + size + " bytes cannot be encoded");
    }
    return ByteBuffer.allocate((int) size);
  }
}
