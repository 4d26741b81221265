package io.distcache.server.resp;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.pubsub.Name;
import io.distcache.server.pubsub.PubSubHub;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/*
 * Design: Redis's pub/sub commands over the node's PubSubHub. Replies follow Redis exactly: one
 * confirmation per channel, each a push of three (an array in RESP2, a '>' push in RESP3) with the
 * connection's subscription count after it; UNSUBSCRIBE without arguments on a connection with
 * none answers once with a null channel. PUBLISH answers the receivers on this node (as Redis
 * Cluster does) and reaches every other member through the hub's broadcaster; SPUBLISH goes
 * through the router to the owner of the channel's slot, like a key, so a plain connection is
 * forwarded and a cluster connection gets -MOVED. The RESP2 subscribed-mode rule is checked by the
 * dispatcher (checkSubscribedMode), after the name, arity and ACL checks, as Redis orders them.
 */

/** SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB. */
final class PubSubCommands {
  private PubSubCommands() {}

  private static final String FLAGS = "pubsub noscript loading stale";

  static void register(CommandTable.Registry r) {
    r.add("subscribe", -2, FLAGS, "pubsub", PubSubCommands::subscribe);
    r.add("unsubscribe", -1, FLAGS, "pubsub", PubSubCommands::unsubscribe);
    r.add("psubscribe", -2, FLAGS, "pubsub", PubSubCommands::psubscribe);
    r.add("punsubscribe", -1, FLAGS, "pubsub", PubSubCommands::punsubscribe);
    r.add("ssubscribe", -2, FLAGS, 1, -1, 1, "pubsub", PubSubCommands::ssubscribe);
    r.add("sunsubscribe", -1, FLAGS, 1, -1, 1, "pubsub", PubSubCommands::sunsubscribe);
    r.add("publish", 3, "pubsub loading stale fast", "pubsub", PubSubCommands::publish);
    r.add("spublish", 3, "pubsub loading stale fast", 1, 1, 1, "pubsub", PubSubCommands::spublish);
    r.addContainer("pubsub", -2, "", "pubsub", null, List.of(
        CommandTable.Registry.sub("channels", -2, "pubsub loading stale", "pubsub", PubSubCommands::channels),
        CommandTable.Registry.sub("numpat", 2, "pubsub loading stale", "pubsub",
            (s, a) -> s.out().integer(s.context().pubSub().numpat())),
        CommandTable.Registry.sub("numsub", -2, "pubsub loading stale", "pubsub", (s, a) -> numsub(s, a, false)),
        CommandTable.Registry.sub("shardchannels", -2, "pubsub loading stale", "pubsub", PubSubCommands::shardChannels),
        CommandTable.Registry.sub("shardnumsub", -2, "pubsub loading stale", "pubsub", (s, a) -> numsub(s, a, true)),
        CommandTable.Registry.sub("help", 2, "loading stale", "pubsub", PubSubCommands::help)));
  }

  /** The commands a RESP2 connection in subscribed mode may run (Redis's list). */
  private static final java.util.Set<String> ALLOWED_WHEN_SUBSCRIBED = java.util.Set.of("subscribe", "unsubscribe",
      "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "ping", "quit", "reset");

  /** Throws Redis's error when a RESP2 connection in subscribed mode sends another command. */
  static void checkSubscribedMode(RespSession s, String topName, String fullName) {
    if (s.inSubscribedMode() && !ALLOWED_WHEN_SUBSCRIBED.contains(topName)) {
      throw new CommandException("ERR Can't execute '" + fullName + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE"
          + " / PING / QUIT / RESET are allowed in this context");
    }
  }

  /**
   * The bounds, checked before anything is subscribed or answered: channel names at most a key's
   * size, at most MAX_SUBSCRIPTIONS_PER_CONNECTION per connection, and room in the node-wide budget,
   * taken until the command's subscriptions are added (close the reservation then). Only names the
   * connection does not hold yet ({@code held}, the set of this command's kind) count, each once:
   * they are all the command adds, so a repeated SUBSCRIBE succeeds with every budget full, as it
   * costs Redis nothing either.
   */
  private static PubSubHub.Reservation checkRoom(RespSession s, byte[][] a, int maxNameBytes, Set<Name> held) {
    List<byte[]> names = new ArrayList<>(a.length - 1);
    Set<Name> seen = new HashSet<>();
    for (int i = 1; i < a.length; i++) {
      if (a[i].length > maxNameBytes) {
        throw new CommandException("ERR channel name of " + a[i].length + " bytes is longer than the limit of "
            + maxNameBytes + " bytes");
      }
      Name n = new Name(a[i]);
      if (!held.contains(n) && seen.add(n)) {
        names.add(a[i]);
      }
    }
    int has = s.subscriber().total();
    if ((long) has + names.size() > PubSubHub.MAX_SUBSCRIPTIONS_PER_CONNECTION) {
      throw new CommandException("ERR this connection has " + has + " subscriptions and asks for " + names.size()
          + " more; the limit is " + PubSubHub.MAX_SUBSCRIPTIONS_PER_CONNECTION + " per connection");
    }
    try {
      return s.context().pubSub().reserve(names);
    } catch (PubSubHub.Refused e) {
      throw new CommandException("ERR " + e.getMessage());
    }
  }

  private static void subscribe(RespSession s, byte[][] a) {
    RespSubscriber sub = s.subscriber();
    RespWriter w = s.out();
    try (PubSubHub.Reservation room = checkRoom(s, a, PubSubHub.MAX_CHANNEL_BYTES, sub.channels)) {
      for (int i = 1; i < a.length; i++) {
        sub.subscribe(a[i], room);
        confirm(w, "subscribe", a[i], sub.count());
      }
    }
  }

  private static void unsubscribe(RespSession s, byte[][] a) {
    RespSubscriber sub = s.subscriber();
    RespWriter w = s.out();
    if (a.length == 1) {
      if (sub.channels.isEmpty()) {
        confirm(w, "unsubscribe", null, sub.count());
      }
      for (Name n : new ArrayList<>(sub.channels)) {
        sub.unsubscribe(n.bytes());
        confirm(w, "unsubscribe", n.bytes(), sub.count());
      }
      return;
    }
    for (int i = 1; i < a.length; i++) {
      sub.unsubscribe(a[i]);
      confirm(w, "unsubscribe", a[i], sub.count());
    }
  }

  private static void psubscribe(RespSession s, byte[][] a) {
    for (int i = 1; i < a.length; i++) {
      if (a[i].length > PubSubHub.MAX_PATTERN_BYTES) {
        throw new CommandException("ERR pattern of " + a[i].length + " bytes is longer than the limit of "
            + PubSubHub.MAX_PATTERN_BYTES + " bytes");
      }
    }
    RespSubscriber sub = s.subscriber();
    RespWriter w = s.out();
    try (PubSubHub.Reservation room = checkRoom(s, a, PubSubHub.MAX_PATTERN_BYTES, sub.patterns)) {
      for (int i = 1; i < a.length; i++) {
        sub.psubscribe(a[i], room);
        confirm(w, "psubscribe", a[i], sub.count());
      }
    }
  }

  private static void punsubscribe(RespSession s, byte[][] a) {
    RespSubscriber sub = s.subscriber();
    RespWriter w = s.out();
    if (a.length == 1) {
      if (sub.patterns.isEmpty()) {
        confirm(w, "punsubscribe", null, sub.count());
      }
      for (Name n : new ArrayList<>(sub.patterns)) {
        sub.punsubscribe(n.bytes());
        confirm(w, "punsubscribe", n.bytes(), sub.count());
      }
      return;
    }
    for (int i = 1; i < a.length; i++) {
      sub.punsubscribe(a[i]);
      confirm(w, "punsubscribe", a[i], sub.count());
    }
  }

  private static void ssubscribe(RespSession s, byte[][] a) {
    checkShardChannels(s, a);
    RespSubscriber sub = s.subscriber();
    RespWriter w = s.out();
    try (PubSubHub.Reservation room = checkRoom(s, a, PubSubHub.MAX_CHANNEL_BYTES, sub.shardChannels)) {
      for (int i = 1; i < a.length; i++) {
        sub.ssubscribe(a[i], room);
        confirm(w, "ssubscribe", a[i], sub.shardChannels.size());
      }
    }
  }

  private static void sunsubscribe(RespSession s, byte[][] a) {
    RespSubscriber sub = s.subscriber();
    RespWriter w = s.out();
    if (a.length == 1) {
      if (sub.shardChannels.isEmpty()) {
        confirm(w, "sunsubscribe", null, sub.shardChannels.size());
      }
      for (Name n : new ArrayList<>(sub.shardChannels)) {
        sub.sunsubscribe(n.bytes());
        confirm(w, "sunsubscribe", n.bytes(), sub.shardChannels.size());
      }
      return;
    }
    checkShardChannels(s, a);
    for (int i = 1; i < a.length; i++) {
      sub.sunsubscribe(a[i]);
      confirm(w, "sunsubscribe", a[i], sub.shardChannels.size());
    }
  }

  /**
   * Redis Cluster's rules for shard channels: all of one slot (CROSSSLOT), and a connection that is
   * routed by a cluster map subscribes on the slot's owner (MOVED); a plain connection subscribes
   * here and gets the owner's SPUBLISH messages relayed.
   */
  private static void checkShardChannels(RespSession s, byte[][] a) {
    int slot = -1;
    for (int i = 1; i < a.length; i++) {
      Args.key(a[i]);
      int sl = KeySlot.of(a[i]);
      if (slot >= 0 && sl != slot && s.context().cluster() != null
          && s.context().cluster().placement().size() > 1) {
        throw new CommandException(RespErrors.CROSSSLOT);
      }
      slot = sl;
    }
    if (s.context().cluster() == null || (s.routing().flagsFor(a[1]) & Flags.ROUTED) == 0) {
      return;
    }
    Member owner = s.context().cluster().owner(a[1]);
    Member self = s.context().cluster().self();
    if (owner != null && self != null && !owner.equals(self)) {
      throw new CommandException("MOVED " + slot + " " + owner.address());
    }
  }

  /** One confirmation: [kind, channel or null, count], a push in RESP3. */
  private static void confirm(RespWriter w, String kind, byte[] name, int count) {
    w.push(3);
    w.bulk(kind);
    w.bulkOrNull(name);
    w.integer(count);
  }

  private static void publish(RespSession s, byte[][] a) {
    if (a[1].length > PubSubHub.MAX_CHANNEL_BYTES) {
      // It travels to the other members in a frame's key field, which is at most a key's size.
      throw new CommandException("ERR channel name of " + a[1].length + " bytes is longer than the limit of "
          + PubSubHub.MAX_CHANNEL_BYTES + " bytes");
    }
    try {
      s.out().integer(s.context().pubSub().publish(a[1], a[2]));
    } catch (PubSubHub.TooCostly e) {
      throw new CommandException("ERR " + e.getMessage());
    }
  }

  private static void spublish(RespSession s, byte[][] a) {
    byte[] channel = Args.key(a[1]);
    s.route(Frame.request(Opcode.SHARD_PUBLISH, 0, channel, a[2]), (r, w) -> {
      if (!StringCommands.failed(r, w)) {
        w.integer(r.extra(0, 0));
      }
    });
  }

  private static void channels(RespSession s, byte[][] a) {
    if (a.length > 3) {
      throw new CommandException(RespErrors.wrongArity("pubsub|channels"));
    }
    names(s, s.context().pubSub().channels(a.length == 3 ? a[2] : null));
  }

  private static void shardChannels(RespSession s, byte[][] a) {
    if (a.length > 3) {
      throw new CommandException(RespErrors.wrongArity("pubsub|shardchannels"));
    }
    names(s, s.context().pubSub().shardChannels(a.length == 3 ? a[2] : null));
  }

  /**
   * The channels, bounded like KEYS (the frame limit, each name counted with its reply header):
   * names are up to 64 KiB, and three PUBSUB CHANNELS of 4,400 such channels at once held every
   * other client for 20 s writing 264 MB replies (a tester).
   */
  private static void names(RespSession s, List<byte[]> names) {
    long max = s.context().limits().maxRequestBytes();
    long bytes = 0;
    for (byte[] n : names) {
      bytes += n.length + RespDecoder.ARG_OVERHEAD;
      if (bytes > max) {
        throw new CommandException("ERR PUBSUB CHANNELS matched more than " + max + " bytes of channels, the limit;"
            + " give a narrower pattern");
      }
    }
    RespWriter w = s.out();
    w.array(names.size());
    for (byte[] n : names) {
      w.bulk(n);
    }
  }

  private static void numsub(RespSession s, byte[][] a, boolean shard) {
    PubSubHub hub = s.context().pubSub();
    RespWriter w = s.out();
    w.map(a.length - 2);
    for (int i = 2; i < a.length; i++) {
      w.bulk(a[i]);
      w.integer(shard ? hub.shardNumsub(a[i]) : hub.numsub(a[i]));
    }
  }

  private static void help(RespSession s, byte[][] a) {
    ConnectionCommands.helpReply(s, "PUBSUB", List.of(
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help."));
  }
}
