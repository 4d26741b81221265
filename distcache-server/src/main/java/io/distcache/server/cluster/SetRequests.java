package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Status;
import io.distcache.protocol.ValueType;
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.CollectionCodec.Bytes;
import io.distcache.server.store.PackedChange;
import io.distcache.server.store.PackedEdit;
import io.distcache.server.store.PackedIndex;
import io.distcache.server.store.PackedLookup;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreException;
import io.distcache.server.store.TypedEntry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/*
 * Design: the SETS opcode (Redis's set commands), as HashRequests does hashes: a set is one entry
 * of type SET whose payload is CollectionCodec's packed member list. A command holds the gate
 * stripes of every key it names (shared to read, exclusive to write) while it decodes, computes
 * and writes back, so it is atomic, inside a TRANSACTION too. SMOVE and the multi-key commands name
 * their other keys in the value list; in a cluster with other owners the router refuses them
 * (CROSS_SLOT) unless every key shares the first key's slot (sameSlotKeys), as Redis Cluster does.
 * Every key a command reads must hold a set (WRONG_TYPE otherwise, as Redis checks each one); a
 * STORE form replaces its destination whatever it held, with no expiry, and deletes it for an
 * empty result; a write that removes the last member removes the key.
 *
 * SISMEMBER, SMISMEMBER (any number of members), SCARD and SRANDMEMBER (up to
 * RandomPicks.DRAWS_IN_PLACE draws) read the payload where the store keeps it (PackedLookup);
 * SADD and SREM (of any number of members on an indexed set, up to MAX_NAMES on a plain one), SPOP and SMOVE edit the payload from that view (PackedEdit: no object per member)
 * inside Store.editPacked, under the stripe held exclusive and the key's segment lock. On a set of
 * more than 128 members (PackedIndex's layout) they find their members through the payload's
 * offset table (SPOP draws them through it), and the store edits such a set where it lies (a new
 * member writes that member only, a removed one leaves a dead run: Segment.editInPlace), so each
 * costs O(members named), not O(size); a smaller set is copied once per write.
 */

/** Runs SETS requests (docs/PROTOCOL.md, "Sets") under the transaction gate. */
final class SetRequests {
  static final int SADD = 0;
  static final int SREM = 1;
  static final int SMEMBERS = 2;
  static final int SISMEMBER = 3;
  static final int SMISMEMBER = 4;
  static final int SCARD = 5;
  static final int SPOP = 6;
  static final int SRANDMEMBER = 7;
  static final int SMOVE = 8;
  static final int SINTER = 9;
  static final int SINTERCARD = 10;
  static final int SUNION = 11;
  static final int SDIFF = 12;
  static final int SINTERSTORE = 13;
  static final int SUNIONSTORE = 14;
  static final int SDIFFSTORE = 15;
  private static final int LAST = SDIFFSTORE;

  private static final byte[] ONE = {1};
  private static final byte[] ZERO = {0};

  private final Store store;
  private final TransactionGate gate;

  private final int maxMembers;
  /** The most bytes of sets one command over several keys may load (AlgebraSources). */
  private volatile long maxLoadBytes = AlgebraSources.DEFAULT_MAX_BYTES;

  SetRequests(Store store, TransactionGate gate, int maxMembers) {
    this.store = store;
    this.gate = gate;
    this.maxMembers = maxMembers;
  }

  void maxLoadBytes(long bytes) {
    this.maxLoadBytes = bytes;
  }

  /** Where the sources' bytes count besides maxLoadBytes: the node's heap budgets together. */
  private volatile io.distcache.server.HeapBudgets heap = io.distcache.server.HeapBudgets.unbounded();

  void heapBudgets(io.distcache.server.HeapBudgets heap) {
    this.heap = heap;
  }

  /** The keys a request names beside its key: SMOVE's destination, the multi-key commands' other keys. */
  static List<byte[]> otherKeys(Frame r) {
    long command = r.extra(0, -1);
    if (command == SMOVE) {
      List<byte[]> args = ListCodec.decodeValues(r.value());
      return args.isEmpty() ? List.of() : List.of(args.get(0));
    }
    if (command >= SINTER && command <= SDIFFSTORE) {
      return ListCodec.decodeValues(r.value());
    }
    return List.of();
  }

  Frame run(Frame r, boolean lock) {
    if (r.extras().length == 0) {
      throw new IllegalArgumentException("SETS needs extra 0 (command), but the request has 0 extras");
    }
    long command = r.extras()[0];
    if (command < 0 || command > LAST) {
      throw new IllegalArgumentException("SETS command " + command + " is not one of 0.." + LAST);
    }
    boolean write = command == SADD || command == SREM || command == SPOP || command == SMOVE || command >= SINTERSTORE;
    List<byte[]> args = r.value().length == 0 ? List.of() : ListCodec.decodeValues(r.value());
    long mask = 1L << TransactionGate.stripe(r.key());
    if (command == SMOVE || command >= SINTER) {
      mask |= TransactionGate.mask(otherKeys(r));
    }
    long[] stamps = lock ? gate.lockAll(mask, write) : null;
    try {
      return switch ((int) command) {
        case SMOVE -> smove(r, args);
        case SINTER, SINTERCARD, SUNION, SDIFF, SINTERSTORE, SUNIONSTORE, SDIFFSTORE -> combine(r, (int) command, args);
        default -> single(r, (int) command, args);
      };
    } catch (WrongType e) {
      return r.replyError(Status.WRONG_TYPE, StoreException.WRONG_TYPE_TEXT);
    } catch (StoreException e) {
      if (e.reason() == StoreException.Reason.WRONG_TYPE) { // Store.readTyped (lookUp)
        return r.replyError(Status.WRONG_TYPE, StoreException.WRONG_TYPE_TEXT);
      }
      throw e;
    } finally {
      if (lock) {
        gate.unlockAll(mask, stamps);
      }
    }
  }

  /** A set read from the store, with its expiry; empty (NO_EXPIRY) when absent. */
  private record Loaded(LinkedHashMap<Bytes, Boolean> members, long expireAt, boolean exists) {}

  /** A key of another type than the command reads (ZSetRequests answers it too). */
  static final class WrongType extends RuntimeException {
    private static final long serialVersionUID = 1L;

    WrongType() {
      super(null, null, false, false);
    }
  }

  private Loaded load(byte[] key) {
    TypedEntry e = store.getTyped(key);
    if (e == null) {
      return new Loaded(new LinkedHashMap<>(), Store.NO_EXPIRY, false);
    }
    return new Loaded(members(e), e.expireAtMillis(), true);
  }

  /** The members of a set entry (none for null); WrongType for another type. */
  private static LinkedHashMap<Bytes, Boolean> members(TypedEntry e) {
    if (e == null) {
      return new LinkedHashMap<>();
    }
    if (e.type() != ValueType.SET) {
      throw new WrongType();
    }
    return CollectionCodec.decodeSet(e.value());
  }

  private void save(byte[] key, LinkedHashMap<Bytes, Boolean> members, long expireAt) {
    if (members.isEmpty()) {
      store.delete(key);
    } else {
      store.putTyped(key, ValueType.SET, CollectionCodec.encodeSet(members.keySet(), members.size()), expireAt);
    }
  }

  private Frame single(Frame r, int command, List<byte[]> args) {
    if (command == SISMEMBER || command == SCARD || command == SMISMEMBER) {
      return lookUp(r, command, args);
    }
    if ((command == SADD || command == SREM) && !args.isEmpty()) {
      Frame edited = edit(r, command == SADD, args);
      if (edited != null) {
        return edited;
      }
    }
    if (command == SPOP) {
      return spop(r);
    }
    if (command == SRANDMEMBER) {
      Frame drawn = RandomPicks.drawInPlace(store, r, ValueType.SET, 0);
      if (drawn != null) {
        return drawn;
      }
    }
    Loaded set = load(r.key());
    LinkedHashMap<Bytes, Boolean> m = set.members();
    switch (command) {
      case SADD -> {
        int added = 0;
        for (byte[] member : args) {
          if (m.putIfAbsent(new Bytes(member), Boolean.TRUE) == null) {
            added++;
            checkRoom(r.key(), m.size());
          }
        }
        if (added > 0) {
          save(r.key(), m, set.expireAt());
        }
        return r.replyOk(added);
      }
      case SREM -> {
        int removed = 0;
        for (byte[] member : args) {
          if (m.remove(new Bytes(member)) != null) {
            removed++;
          }
        }
        if (removed > 0) {
          save(r.key(), m, set.expireAt());
        }
        return r.replyOk(removed);
      }
      case SMEMBERS -> {
        return r.replyValue(ListCodec.encodeValues(list(m.keySet())));
      }
      default -> {
        return srandmember(r, m);
      }
    }
  }

  /**
   * SADD or SREM on the payload's view (PackedEdit), with the decoding path's replies and limits;
   * null, having written nothing, for more than MAX_NAMES members on a set that is not indexed (a
   * plain set's edit walks it once per name), which the decoding path then serves.
   */
  private Frame edit(Frame r, boolean add, List<byte[]> members) {
    return store.editPacked(r.key(), ValueType.SET, payload -> {
      if (members.size() > PackedLookup.MAX_NAMES && !PackedIndex.isIndexed(payload)) {
        return PackedChange.<Frame>decline();
      }
      PackedEdit e = PackedEdit.set(payload, members);
      for (int i = 0; i < members.size(); i++) {
        if (add) {
          e.add(i);
        } else {
          e.remove(i);
        }
      }
      if (e.size() > e.count() && e.size() > maxMembers) {
        checkRoom(r.key(), Math.max(e.count(), maxMembers) + 1); // the size the decoding path names
      }
      return new PackedChange<>(r.replyOk(Math.abs(e.size() - e.count())), e);
    }).result();
  }

  /** SISMEMBER, SMISMEMBER and SCARD by walking the payload (PackedLookup) instead of decoding it. */
  private Frame lookUp(Frame r, int command, List<byte[]> args) {
    if (command == SISMEMBER && args.size() != 1) {
      throw new IllegalArgumentException("SISMEMBER needs one member, got " + args.size());
    }
    if (command == SCARD) {
      int n = store.readTyped(r.key(), ValueType.SET, PackedLookup::count);
      return r.replyOk(n);
    }
    boolean[] found = store.readTyped(r.key(), ValueType.SET, p -> PackedLookup.setContains(p, args));
    if (command == SISMEMBER) {
      return r.replyOk(found[0] ? 1 : 0);
    }
    List<byte[]> out = new ArrayList<>(found.length);
    for (boolean f : found) {
      out.add(f ? ONE : ZERO);
    }
    return r.replyValue(ListCodec.encodeValues(out));
  }

  /*
   * extras: [command, has count, count]. Without a count: one member or NOT_FOUND. The members are
   * drawn from the payload where it lies (PackedLookup.randomSetMembers: uniform, through the
   * offset table of a large set) and removed by a PackedEdit, so a large set loses them in place:
   * O(count), not O(size).
   */
  private Frame spop(Frame r) {
    boolean hasCount = r.extra(1, 0) != 0;
    long count = hasCount ? r.extra(2, 0) : 1;
    if (count < 0) {
      throw new IllegalArgumentException("SPOP count " + count + " is negative");
    }
    return store.editPacked(r.key(), ValueType.SET, payload -> {
      RandomPicks.checkCount(Math.min(count, PackedLookup.count(payload)));
      List<byte[]> picked = PackedLookup.randomSetMembers(payload, count, ThreadLocalRandom.current());
      PackedEdit e = PackedEdit.set(payload, picked);
      for (int i = 0; i < picked.size(); i++) {
        e.remove(i);
      }
      Frame reply; // extra 0: how many were popped (KeyspaceNotifier: "spop" only when some were)
      if (hasCount) {
        reply = r.replyValue(ListCodec.encodeValues(picked), picked.size());
      } else {
        reply = picked.isEmpty() ? r.reply(Status.NOT_FOUND) : r.replyValue(picked.get(0), 1);
      }
      return new PackedChange<>(reply, e);
    }).result();
  }

  private Frame srandmember(Frame r, LinkedHashMap<Bytes, Boolean> m) {
    boolean hasCount = r.extra(1, 0) != 0;
    List<Bytes> all = new ArrayList<>(m.keySet());
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    if (!hasCount) {
      return all.isEmpty() ? r.reply(Status.NOT_FOUND) : r.replyValue(all.get(rnd.nextInt(all.size())).b());
    }
    List<byte[]> out = list(RandomPicks.pick(all, r.extra(2, 0), rnd));
    RandomPicks.checkBytes(out);
    return r.replyValue(ListCodec.encodeValues(out));
  }

  /*
   * key: the source; value: [destination, member]. Both keys are type-checked first, as Redis
   * checks them, then the member is looked up in each (PackedLookup: O(1) on a large set), the
   * destination's room checked, the member added to the destination and only then removed from the
   * source, each an editPacked write (in place on a large set): O(1), not O(size). The reply's
   * extra 1 says whether the destination gained the member (1) or held it already (0), which
   * decides Redis's "sadd" event on it (KeyspaceNotifier). Both stripes
   * are held exclusive, so nothing runs between the two writes; a write that fails (the memory
   * bound, the value limit) leaves the member where it was: a removal refused after the add
   * (rare: a removal is made in place when it cannot compact for memory) takes the add back.
   */
  private Frame smove(Frame r, List<byte[]> args) {
    if (args.size() != 2) {
      throw new IllegalArgumentException("SMOVE needs a destination and a member, got " + args.size() + " values");
    }
    byte[] destination = args.get(0);
    List<byte[]> member = List.of(args.get(1));
    boolean inSource = store.readTyped(r.key(), ValueType.SET, p -> PackedLookup.setContains(p, member))[0];
    if (!inSource && !store.exists(r.key())) {
      return r.replyOk(0); // Redis: a missing source answers 0 before the destination's type is checked
    }
    long[] target = store.readTyped(destination, ValueType.SET,
        p -> new long[] {PackedLookup.count(p), PackedLookup.setContains(p, member)[0] ? 1 : 0});
    if (!inSource) {
      return r.replyOk(0);
    }
    if (java.util.Arrays.equals(r.key(), destination)) {
      return r.replyOk(1, 0); // Redis: moving to the same set changes nothing and answers 1
    }
    boolean added = target[1] == 0;
    if (added) {
      checkRoom(destination, (int) Math.min(Integer.MAX_VALUE, target[0] + 1));
      editOne(destination, member, true);
    }
    try {
      editOne(r.key(), member, false);
    } catch (RuntimeException e) {
      if (added) {
        // Taken back: the member was just appended, so its removal cuts the payload's end and
        // needs no memory; the failed SMOVE then changed nothing.
        editOne(destination, member, false);
      }
      throw e;
    }
    return r.replyOk(1, added ? 1 : 0); // extra 1: the destination gained it (Redis's "sadd" event)
  }

  /** Adds or removes one member of the set at {@code key} through editPacked. */
  private void editOne(byte[] key, List<byte[]> member, boolean add) {
    store.editPacked(key, ValueType.SET, payload -> {
      PackedEdit e = PackedEdit.set(payload, member);
      if (add) {
        e.add(0);
      } else {
        e.remove(0);
      }
      return new PackedChange<Void>(null, e);
    });
  }

  /*
   * SINTER, SUNION, SDIFF: key the first set, value the others. SINTERCARD: extra 1 the limit (0:
   * none). The STORE forms: key the destination, value every source.
   */
  private Frame combine(Frame r, int command, List<byte[]> args) {
    try (AlgebraSources<LinkedHashMap<Bytes, Boolean>> sources =
        new AlgebraSources<>(store, maxLoadBytes, heap, SetRequests::members)) {
      return combine(r, command, args, sources);
    }
  }

  private Frame combine(Frame r, int command, List<byte[]> args, AlgebraSources<LinkedHashMap<Bytes, Boolean>> sources) {
    boolean stored = command >= SINTERSTORE;
    List<byte[]> keys = new ArrayList<>(args.size() + 1);
    if (!stored) {
      keys.add(r.key());
    }
    keys.addAll(args);
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("SETS command " + command + " needs at least one source key");
    }
    List<LinkedHashMap<Bytes, Boolean>> sets = new ArrayList<>(keys.size());
    for (byte[] k : keys) {
      sets.add(sources.get(k)); // every key is type-checked, as Redis does; a key named twice is one map, read only
    }
    int op = switch (command) {
      case SINTER, SINTERCARD, SINTERSTORE -> SINTER;
      case SUNION, SUNIONSTORE -> SUNION;
      default -> SDIFF;
    };
    long limit = command == SINTERCARD ? r.extra(1, 0) : 0;
    if (limit < 0) {
      throw new IllegalArgumentException("SINTERCARD limit " + limit + " is negative");
    }
    LinkedHashMap<Bytes, Boolean> result = new LinkedHashMap<>();
    if (op == SINTER) {
      int smallest = 0;
      for (int i = 1; i < sets.size(); i++) {
        if (sets.get(i).size() < sets.get(smallest).size()) {
          smallest = i;
        }
      }
      outer:
      for (Bytes m : sets.get(smallest).keySet()) {
        for (LinkedHashMap<Bytes, Boolean> other : sets) {
          if (!other.containsKey(m)) {
            continue outer;
          }
        }
        result.put(m, Boolean.TRUE);
        if (limit > 0 && result.size() >= limit) {
          break;
        }
      }
    } else if (op == SUNION) {
      for (LinkedHashMap<Bytes, Boolean> s : sets) {
        for (Bytes m : s.keySet()) {
          result.put(m, Boolean.TRUE);
          if (stored) {
            checkRoom(r.key(), result.size());
          }
        }
      }
    } else {
      result.putAll(sets.get(0));
      for (int i = 1; i < sets.size() && !result.isEmpty(); i++) {
        result.keySet().removeAll(sets.get(i).keySet());
      }
    }
    if (command == SINTERCARD) {
      return r.replyOk(result.size());
    }
    if (stored) {
      save(r.key(), result, Store.NO_EXPIRY);
      return r.replyOk(result.size());
    }
    return r.replyValue(ListCodec.encodeValues(list(result.keySet())));
  }

  private static List<byte[]> list(Iterable<Bytes> members) {
    List<byte[]> out = new ArrayList<>();
    for (Bytes b : members) {
      out.add(b.b());
    }
    return out;
  }

  private void checkRoom(byte[] key, int size) {
    if (size > maxMembers) {
      throw new IllegalArgumentException("set " + RandomPicks.printable(key) + " would hold " + size
          + " members; the limit is " + maxMembers + " members per set (--max-collection-elements)");
    }
  }
}
