package io.distcache.protocol;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/*
 * Design: a SCRIPT request carries everything its owner needs to run it without asking back: the
 * script's body (not its SHA1: the owner may never have seen it, and an entry node that knows the
 * SHA1 sends the body, so EVALSHA works through any node), the ACL user whose permissions its
 * calls run under, its declared keys and its arguments. The value is one ListCodec item list
 * (body, user, keys..., arguments...), so every length is checked by the list decoder; the number
 * of keys and the flags travel as extras.
 */

/** The value and extras of a {@link Opcode#SCRIPT} request. */
public final class ScriptCodec {
  private ScriptCodec() {}

  /** Flag bit: EVAL_RO / EVALSHA_RO, a write command inside fails. */
  public static final long READ_ONLY = 1;
  /** Flag bit: the caller speaks RESP3, so the reply is rendered in RESP3. */
  public static final long RESP3 = 2;
  /**
   * Flag bit: FCALL. The body is a function library's code and the item after the user names the
   * function to call with the keys and arguments (Redis 7 functions, docs/PROTOCOL.md).
   */
  public static final long FUNCTION = 4;
  /** Flag bit: sent as FCALL_RO (FUNCTION STATS shows the command as the client sent it). */
  public static final long FCALL_RO = 8;

  /** A decoded SCRIPT request. */
  public record Script(byte[] body, String user, List<byte[]> keys, List<byte[]> args, long flags, String function) {
    /** The script of an EVAL (no function). */
    public Script(byte[] body, String user, List<byte[]> keys, List<byte[]> args, long flags) {
      this(body, user, keys, args, flags, null);
    }

    /** True for FCALL / FCALL_RO: {@link #function} names the library's function to call. */
    public boolean isFunction() {
      return function != null;
    }

    public boolean readOnly() {
      return (flags & READ_ONLY) != 0;
    }

    public boolean resp3() {
      return (flags & RESP3) != 0;
    }
  }

  /** The SCRIPT request for {@code body} with {@code keys} and {@code args}, routed by its first key. */
  public static Frame request(byte[] body, String user, List<byte[]> keys, List<byte[]> args, long flags) {
    return request(body, user, null, keys, args, flags & ~FUNCTION);
  }

  /**
   * The SCRIPT request of an FCALL: {@code function} of the library {@code code}, sent whole so its
   * owner can run it without having loaded the library itself; {@code function} null for EVAL.
   */
  public static Frame request(byte[] body, String user, String function, List<byte[]> keys, List<byte[]> args,
      long flags) {
    List<byte[]> items = new ArrayList<>(3 + keys.size() + args.size());
    items.add(body);
    items.add(user.getBytes(StandardCharsets.UTF_8));
    if (function != null) {
      items.add(function.getBytes(StandardCharsets.UTF_8));
      flags |= FUNCTION;
    }
    items.addAll(keys);
    items.addAll(args);
    byte[] routing = keys.isEmpty() ? Frame.EMPTY : keys.get(0);
    return Frame.request(Opcode.SCRIPT, 0, routing, ListCodec.encodeKeys(items), keys.size(), flags);
  }

  /**
   * The script of a SCRIPT request; IllegalArgumentException naming the problem when the extras do
   * not match the list, MalformedListException when the list itself is malformed.
   */
  public static Script decode(Frame request) {
    long numKeys = request.extra(0, -1);
    long flags = request.extra(1, 0);
    List<byte[]> items = ListCodec.decodeKeys(request.value());
    int head = (flags & FUNCTION) != 0 ? 3 : 2;
    if (numKeys < 0 || items.size() < head || numKeys > items.size() - head) {
      throw new IllegalArgumentException("SCRIPT with " + numKeys + " keys needs a body, a user"
          + (head == 3 ? ", a function name" : "") + " and that many keys, but its list has " + items.size() + " items");
    }
    int k = (int) numKeys;
    String function = head == 3 ? new String(items.get(2), StandardCharsets.UTF_8) : null;
    return new Script(items.get(0), new String(items.get(1), StandardCharsets.UTF_8), items.subList(head, head + k),
        items.subList(head + k, items.size()), flags, function);
  }

  /**
   * {@code request} with its ACL user replaced by {@code user}: a client connection's script runs as
   * that connection's user, whatever the frame says. Throws like {@link #decode}.
   */
  public static Frame withUser(Frame request, String user) {
    Script s = decode(request);
    Frame f = request(s.body(), user, s.function(), s.keys(), s.args(), s.flags());
    return new Frame(request.opcode(), request.flags(), request.requestId(), request.status(), f.extras(), f.key(),
        f.value());
  }

  /** The declared keys of a SCRIPT request (the one-slot rule and replication read them). */
  public static List<byte[]> keys(Frame request) {
    return decode(request).keys();
  }
}
