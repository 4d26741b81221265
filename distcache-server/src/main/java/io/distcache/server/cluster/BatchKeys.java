package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ScriptCodec;
import io.distcache.protocol.TransactionCodec;
import java.util.ArrayList;
import java.util.List;

/** The keys a data request names, for the transaction gate and the one-slot rule. */
final class BatchKeys {
  private BatchKeys() {}

  /** The keys of a multi-key request; null for any other request or a malformed list. */
  static List<byte[]> multiKeys(Frame request) {
    Opcode op = request.op();
    if (op == null) {
      return null;
    }
    try {
      return switch (op) {
        case MULTI_GET, MULTI_DELETE, MULTI_EXISTS -> ListCodec.decodeKeys(request.value());
        case MULTI_SET, MULTI_SET_IF_ABSENT -> io.distcache.protocol.BufferedPairs.keys(request);
        default -> null;
      };
    } catch (ListCodec.MalformedListException e) {
      return null;
    }
  }

  /**
   * Every key of a batch: its conditions' and its requests'. Throws IllegalArgumentException
   * (BAD_REQUEST) for a request that cannot be part of a batch, MalformedListException for a
   * malformed key list, before anything runs.
   */
  static List<byte[]> of(TransactionCodec.Batch batch) {
    List<byte[]> keys = new ArrayList<>();
    for (TransactionCodec.Condition c : batch.conditions()) {
      keys.add(c.key());
    }
    for (Frame request : batch.requests()) {
      addKeys(request, keys);
    }
    return keys;
  }

  /**
   * Adds every key {@code request} names, as a batch's part (see {@link #of}), to {@code keys}:
   * what a TRANSACTION, or one request run alone on its keys, locks.
   */
  static void addKeys(Frame request, List<byte[]> keys) {
    Opcode op = request.op();
    if (op == null) {
      throw new IllegalArgumentException(
          String.format("unknown opcode 0x%02x in a transaction", request.opcode() & 0xFF));
    }
    switch (op) {
      case MULTI_GET, MULTI_DELETE, MULTI_EXISTS -> keys.addAll(ListCodec.decodeKeys(request.value()));
      case MULTI_SET, MULTI_SET_IF_ABSENT -> keys.addAll(io.distcache.protocol.BufferedPairs.keys(request));
      case PING -> { }
      case BITS -> {
        keys.add(request.key());
        keys.addAll(BitRequests.sources(request));
      }
      case KEY_OP -> {
        keys.add(request.key());
        keys.addAll(KeyRequests.destinations(request));
      }
      case SETS -> {
        keys.add(request.key());
        keys.addAll(SetRequests.otherKeys(request));
      }
      case ZSETS -> {
        keys.add(request.key());
        keys.addAll(ZSetRequests.otherKeys(request));
      }
      // A Redis EXEC holding EVAL or FCALL: its declared keys (the keys it writes besides them
      // are in their slot, ScriptHost). The node runs such a batch on its script lane.
      case SCRIPT -> keys.addAll(ScriptCodec.keys(request));
      default -> {
        if (!op.keyed() || op == Opcode.TRANSACTION) {
          throw new IllegalArgumentException(op + " cannot be part of a transaction: only data requests on keys can");
        }
        keys.add(request.key());
      }
    }
  }

  /**
   * The keys that must share the routing key's slot: a TRANSACTION's (every key of the batch) and
   * a BITOP's sources, the destination of RENAME and COPY, the other keys of the multi-key set and
   * sorted-set commands, a SCRIPT's declared keys; null for any
   * other request.
   */
  static List<byte[]> sameSlotKeys(Frame request) {
    return switch (request.op()) {
      case TRANSACTION -> of(TransactionCodec.decodeRequest(request.value()));
      case BITS -> BitRequests.sources(request);
      case KEY_OP -> KeyRequests.destinations(request);
      case SETS -> SetRequests.otherKeys(request);
      case ZSETS -> ZSetRequests.otherKeys(request);
      case SCRIPT -> ScriptCodec.keys(request);
      default -> null;
    };
  }
}
