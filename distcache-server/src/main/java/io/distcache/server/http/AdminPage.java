package io.distcache.server.http;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.protocol.cluster.Placement.SlotRange;
import io.distcache.server.cluster.ClusterView;
import io.distcache.server.cluster.ClusterWide;
import io.distcache.server.membership.MemberStatus;
import io.distcache.server.membership.MembershipSnapshot;
import io.distcache.server.resp.RespContext;
import io.distcache.server.store.StoreStats;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/*
 * Design: the admin page is one HTML file from the jar (inline script and style, nothing fetched
 * from elsewhere) that polls /api/cluster every second. /api/cluster is this node's view: the
 * members and their states, the slot ranges with their owners (what the page draws), and per
 * member its keys, memory and operations per second, which this node asks every other member for
 * with a STATS request over the cluster bus (its own are read locally). One page therefore shows
 * the whole cluster from any node, through the port the browser already reaches, and a member
 * that does not answer shows its error instead of numbers. No key or value is ever shown.
 */

/** The admin page and the JSON it polls. */
public final class AdminPage {
  static final String HTML_RESOURCE = "/io/distcache/server/http/admin.html";

  private final byte[] html;
  private final RespContext context;
  private final ClusterWide wide;

  /**
   * @param context this node's Redis layer (its store, rates and cluster view)
   * @param wide how other members are asked for their STATS; null for a node without a cluster
   */
  public AdminPage(RespContext context, ClusterWide wide) {
    this.context = context;
    this.wide = wide;
    try (InputStream in = AdminPage.class.getResourceAsStream(HTML_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("admin page missing from the jar: " + HTML_RESOURCE);
      }
      this.html = in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  byte[] html() {
    return html;
  }

  /** The JSON of /api/cluster, once every member answered (or failed: the bus times out in 2 s). */
  CompletableFuture<byte[]> clusterJson() {
    ClusterView view = context.cluster();
    Map<Member, CompletableFuture<Frame>> stats = wide == null ? Map.of() : wide.statsOfEveryMember();
    return CompletableFuture.allOf(stats.values().toArray(new CompletableFuture<?>[0]))
        .handle((ignored, error) -> render(view, stats).getBytes(StandardCharsets.UTF_8));
  }

  private String render(ClusterView view, Map<Member, CompletableFuture<Frame>> stats) {
    Member self = view == null ? null : view.self();
    Placement placement = view == null ? null : view.placement();
    StringBuilder sb = new StringBuilder(4096);
    sb.append("{\"self\":").append(str(self == null ? "" : self.id()));
    sb.append(",\"epoch\":").append(placement == null ? 0 : placement.epoch());
    sb.append(",\"members\":[");
    List<MemberStatus> members = view == null ? List.of()
        : view.snapshot().map(MembershipSnapshot::members).orElse(List.of());
    boolean first = true;
    for (MemberStatus m : members) {
      sb.append(first ? "" : ",").append("{\"id\":").append(str(m.id()))
          .append(",\"address\":").append(str(m.member().address().toString()))
          .append(",\"state\":").append(str(m.state().name()))
          .append(",\"slots\":").append(placement == null ? 0 : placement.slotCount(m.member()))
          .append(",\"self\":").append(self != null && self.id().equals(m.id())).append('}');
      first = false;
    }
    sb.append("],\"ranges\":[");
    first = true;
    if (placement != null) {
      for (SlotRange r : placement.ranges()) {
        sb.append(first ? "" : ",").append('[').append(r.first()).append(',').append(r.last()).append(',')
            .append(str(r.owner().id())).append(']');
        first = false;
      }
    }
    sb.append("],\"nodes\":{");
    first = true;
    for (Map.Entry<Member, CompletableFuture<Frame>> e : stats.entrySet()) {
      Member m = e.getKey();
      sb.append(first ? "" : ",").append(str(m.id())).append(':');
      first = false;
      if (self != null && self.id().equals(m.id())) {
        StoreStats s = context.store().stats();
        node(sb, s.entries(), s.bytesUsed(), s.bytesMax(), context.opsPerSec());
        continue;
      }
      Frame f = e.getValue().getNow(null);
      if (f == null || f.status() != Status.OK || f.value() == null) {
        String why = f == null ? "no answer" : f.value() == null ? f.status().name()
            : new String(f.value(), StandardCharsets.UTF_8);
        sb.append("{\"error\":").append(str(why)).append('}');
        continue;
      }
      Map<String, Long> v = parse(new String(f.value(), StandardCharsets.UTF_8));
      node(sb, v.getOrDefault("entries", 0L), v.getOrDefault("bytes_used", 0L), v.getOrDefault("bytes_max", 0L),
          v.getOrDefault("ops_per_sec", 0L));
    }
    if (stats.isEmpty()) {
      StoreStats s = context.store().stats();
      sb.append(str(self == null ? "" : self.id())).append(':');
      node(sb, s.entries(), s.bytesUsed(), s.bytesMax(), context.opsPerSec());
    }
    return sb.append("}}").toString();
  }

  private static void node(StringBuilder sb, long keys, long used, long max, long ops) {
    sb.append("{\"keys\":").append(keys).append(",\"memoryUsed\":").append(used).append(",\"memoryMax\":")
        .append(max).append(",\"opsPerSec\":").append(ops).append('}');
  }

  /** STATS's "name:value" lines; lines that are not numbers are skipped. */
  static Map<String, Long> parse(String text) {
    Map<String, Long> out = new LinkedHashMap<>();
    for (String line : text.split("\n")) {
      int colon = line.indexOf(':');
      if (colon > 0) {
        try {
          out.put(line.substring(0, colon), Long.parseLong(line.substring(colon + 1).trim()));
        } catch (NumberFormatException e) {
          // not a counter
        }
      }
    }
    return out;
  }

  /** A JSON string: quotes, backslashes and control characters escaped. */
  static String str(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.append('"').toString();
  }
}
