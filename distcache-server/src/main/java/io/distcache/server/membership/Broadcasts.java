package io.distcache.server.membership;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/*
 * Design: the dissemination half of SWIM. News about a member rides on the pings and acks this node
 * sends anyway, each item a limited number of times: multiplier * ceil(log10(n + 1)) for n members
 * is enough for epidemic spread to reach every member with high probability, and anti-entropy
 * syncs catch the rest. Only the newest status of each member is kept (older news about the same
 * member is superseded, never sent). The least-sent items go first, so fresh news overtakes news
 * that has already had its turns.
 */
final class Broadcasts {
  private static final class Item {
    final MemberStatus status;
    final long order;
    int transmits;

    Item(MemberStatus status, long order) {
      this.status = status;
      this.order = order;
    }
  }

  private static final Comparator<Item> FEWEST_SENT_THEN_NEWEST =
      Comparator.<Item>comparingInt(i -> i.transmits).thenComparing(i -> -i.order);

  private final Map<String, Item> byMember = new LinkedHashMap<>();
  private long counter;

  /** Queues news about a member, replacing older news about it. */
  void add(MemberStatus status) {
    byMember.put(status.id(), new Item(status, counter++));
  }

  /** Up to {@code max} items to piggyback; each counts as sent and retires after {@code limit} sends. */
  List<MemberStatus> take(int max, int limit) {
    if (byMember.isEmpty()) {
      return List.of();
    }
    List<Item> items = new ArrayList<>(byMember.values());
    items.sort(FEWEST_SENT_THEN_NEWEST);
    List<MemberStatus> out = new ArrayList<>(Math.min(max, items.size()));
    for (int i = 0; i < items.size() && out.size() < max; i++) {
      Item item = items.get(i);
      out.add(item.status);
      if (++item.transmits >= limit) {
        byMember.remove(item.status.id());
      }
    }
    return out;
  }

  int size() {
    return byMember.size();
  }

  /** How many times each update is sent among {@code members} members. */
  static int retransmitLimit(int multiplier, int members) {
    return multiplier * (int) Math.ceil(Math.log10(members + 1.0));
  }
}
