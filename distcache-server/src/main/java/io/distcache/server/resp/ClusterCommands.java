package io.distcache.server.resp;

import io.distcache.protocol.cluster.Member;
import io.distcache.server.cluster.ClusterView;
import io.distcache.server.membership.MemberStatus;
import io.distcache.server.membership.MembershipSnapshot;
import io.distcache.server.resp.CommandTable.Registry;
import java.util.List;
import java.util.Locale;

/*
 * Design: distcache's cluster is not Redis Cluster (a hash ring of members, not 16384 slots), so
 * the Redis Cluster subcommands that describe slots (SLOTS, SHARDS, NODES) are not offered, where a
 * cluster-aware client would misread them. What operators need is here: INFO with Redis's
 * cluster_ field style, the member list with states, and which member owns a key. Every answer is
 * this node's view, read without blocking; no request leaves the node.
 */

/** CLUSTER INFO, CLUSTER MEMBERS, CLUSTER OWNER, CLUSTER HELP. */
final class ClusterCommands {
  private ClusterCommands() {}

  /** Redis's answer to CLUSTER commands on a node without cluster support. */
  static final String DISABLED = "ERR This instance has cluster support disabled";

  static void register(Registry r) {
    r.addContainer("cluster", -2, "", "cluster", null, List.of(
        Registry.sub("info", 2, "loading stale", "cluster", ClusterCommands::info),
        Registry.sub("members", 2, "loading stale", "cluster", ClusterCommands::members),
        Registry.sub("owner", 3, "loading stale", "cluster", ClusterCommands::owner),
        Registry.sub("help", 2, "loading stale", "cluster", (s, a) -> ConnectionCommands.helpReply(s, "CLUSTER",
            List.of("INFO", "    Return information about the cluster as this node sees it.",
                "MEMBERS", "    Return every known member: id, host:port, state, incarnation.",
                "OWNER <key>", "    Return the host:port of the member that owns <key>.",
                "HELP", "    Print this help.")))));
  }

  private static ClusterView view(RespSession s) {
    ClusterView view = s.context().cluster();
    if (view == null) {
      throw new CommandException(DISABLED);
    }
    return view;
  }

  private static void info(RespSession s, byte[][] a) {
    s.out().verbatim(infoLines(view(s)));
  }

  /** One array per member, by id: [id, host:port, state (alive, suspect, dead, left), incarnation]. */
  private static void members(RespSession s, byte[][] a) {
    MembershipSnapshot snapshot = view(s).snapshot().orElse(null);
    List<MemberStatus> members = snapshot == null ? List.of() : snapshot.members();
    RespWriter w = s.out();
    w.array(members.size());
    for (MemberStatus m : members) {
      w.array(4);
      w.bulk(m.id());
      w.bulk(m.member().address().toString());
      w.bulk(m.state().name().toLowerCase(Locale.ROOT));
      w.integer(m.incarnation());
    }
  }

  private static void owner(RespSession s, byte[][] a) {
    Member owner = view(s).owner(Args.key(a[2]));
    if (owner == null) {
      s.out().nil(); // membership not started yet: nobody owns anything
    } else {
      s.out().bulk(owner.address().toString());
    }
  }

  /** The cluster_ lines of INFO and CLUSTER INFO, CRLF-terminated. */
  static String infoLines(ClusterView view) {
    int alive = 0;
    int suspect = 0;
    int dead = 0;
    int left = 0;
    List<MemberStatus> members = view.snapshot().map(MembershipSnapshot::members).orElse(List.of());
    for (MemberStatus m : members) {
      switch (m.state()) {
        case ALIVE -> alive++;
        case SUSPECT -> suspect++;
        case DEAD -> dead++;
        case LEFT -> left++;
      }
    }
    StringBuilder sb = new StringBuilder();
    line(sb, "cluster_enabled", 1);
    line(sb, "cluster_state", alive > 0 ? "ok" : "fail");
    line(sb, "cluster_known_nodes", members.size());
    line(sb, "cluster_alive_nodes", alive);
    line(sb, "cluster_suspect_nodes", suspect);
    line(sb, "cluster_dead_nodes", dead);
    line(sb, "cluster_left_nodes", left);
    line(sb, "cluster_current_epoch", view.placement().epoch());
    line(sb, "cluster_size", view.placement().size());
    line(sb, "forwarded_requests", view.forwardedRequests());
    return sb.toString();
  }

  private static void line(StringBuilder sb, String name, Object value) {
    sb.append(name).append(':').append(value).append("\r\n");
  }
}
