package io.distcache.benchmarks;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * How evenly the placement spreads slots and keys over 3 to 10 members, and how many slots a join
 * moves: for each member count, {@code runs} random sets of member ids (new ids, as real starts
 * make), the busiest and idlest member's share of slots and of {@code keys} keys ("key:" + i)
 * relative to the mean, the worst over all runs, and the slots a new member takes.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.distcache.benchmarks.PlacementSpread [runs] [keys]}
 */
public final class PlacementSpread {
  private PlacementSpread() {}

  public static void main(String[] args) {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    int keys = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
    int[] keySlots = new int[keys];
    for (int i = 0; i < keys; i++) {
      keySlots[i] = KeySlot.of(("key:" + i).getBytes(StandardCharsets.UTF_8));
    }
    System.out.println("members | slots max/mean (worst) | slots min/mean (worst) | keys max/mean (worst)"
        + " | keys min/mean (worst) | slots moved by a join, share of 16384 (mean; ideal 1/(N+1))");
    Random random = new Random(42);
    for (int n = 3; n <= 10; n++) {
      double slotMax = 0;
      double slotMin = Double.MAX_VALUE;
      double keyMax = 0;
      double keyMin = Double.MAX_VALUE;
      double sumSlotMax = 0;
      double sumKeyMax = 0;
      double sumMoved = 0;
      for (int r = 0; r < runs; r++) {
        List<Member> members = new ArrayList<>();
        for (int i = 0; i <= n; i++) {
          members.add(new Member(Member.newId(System.currentTimeMillis(), random), new Address("10.0.0." + i, 7000)));
        }
        Member joiner = members.remove(n);
        Placement p = Placement.of(1, members);
        Map<Member, int[]> counts = new HashMap<>();
        for (Member m : members) {
          counts.put(m, new int[2]);
        }
        for (int s = 0; s < KeySlot.SLOTS; s++) {
          counts.get(p.owner(s))[0]++;
        }
        for (int slot : keySlots) {
          counts.get(p.owner(slot))[1]++;
        }
        double meanSlots = (double) KeySlot.SLOTS / n;
        double meanKeys = (double) keys / n;
        double runSlotMax = 0;
        double runKeyMax = 0;
        for (int[] c : counts.values()) {
          runSlotMax = Math.max(runSlotMax, c[0] / meanSlots);
          runKeyMax = Math.max(runKeyMax, c[1] / meanKeys);
          slotMin = Math.min(slotMin, c[0] / meanSlots);
          keyMin = Math.min(keyMin, c[1] / meanKeys);
        }
        slotMax = Math.max(slotMax, runSlotMax);
        keyMax = Math.max(keyMax, runKeyMax);
        sumSlotMax += runSlotMax;
        sumKeyMax += runKeyMax;
        List<Member> grown = new ArrayList<>(members);
        grown.add(joiner);
        Placement q = Placement.of(2, grown);
        int moved = 0;
        for (int s = 0; s < KeySlot.SLOTS; s++) {
          if (!p.owner(s).equals(q.owner(s))) {
            moved++;
          }
        }
        sumMoved += (double) moved / KeySlot.SLOTS;
      }
      System.out.printf("%d | %.3f (%.3f) | (%.3f) | %.3f (%.3f) | (%.3f) | %.3f (%.3f)%n", n, sumSlotMax / runs, slotMax,
          slotMin, sumKeyMax / runs, keyMax, keyMin, sumMoved / runs, 1.0 / (n + 1));
    }
  }
}
