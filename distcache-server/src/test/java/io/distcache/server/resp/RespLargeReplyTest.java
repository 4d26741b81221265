package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Replies carrying large values (RespWriter.PIECE_BYTES and up), which go out in several buffers
 * of at most a piece each, or, for a GET served from the store while it is sent, as the store's own
 * memory in one read-only buffer (RespSession.SHARED_BULK_BYTES): the bytes on the wire are exactly Redis's replies, in request order,
 * whether the large reply is written at once, parked behind a pending one, inside EXEC, or in
 * RESP3; and no buffer written is larger than a piece plus the small replies around it.
 */
class RespLargeReplyTest {
  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(64L * 1024 * 1024, 4 * 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final RespChannel resp = new RespChannel(new LocalRouter(new LocalExecutor(store)), store, clock);

  @AfterEach
  void tearDown() {
    resp.close();
    store.close();
  }

  private static byte[] value(int length, int seed) {
    byte[] v = new byte[length];
    for (int i = 0; i < length; i++) {
      v[i] = (byte) (i * 7 + seed);
    }
    return v;
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.ISO_8859_1);
  }

  private static String bulk(byte[] v) {
    return "$" + v.length + "\r\n" + text(v) + "\r\n";
  }

  /** Every buffer written since the last call, in order. */
  private List<ByteBuf> written() {
    resp.channel.runPendingTasks();
    List<ByteBuf> out = new ArrayList<>();
    ByteBuf buf;
    while ((buf = resp.channel.readOutbound()) != null) {
      out.add(buf);
    }
    return out;
  }

  private static String join(List<ByteBuf> buffers) {
    StringBuilder sb = new StringBuilder();
    for (ByteBuf buf : buffers) {
      sb.append(buf.toString(StandardCharsets.ISO_8859_1));
      buf.release();
    }
    return sb.toString();
  }

  @Test
  void pipelinedLargeAndSmallReplies_exactAndInOrder_inPieces() {
    byte[] big = value(RespWriter.PIECE_BYTES * 2 + 5, 1);
    byte[] huge = value(3 * 1024 * 1024 + 1, 2);
    byte[] exact = value(RespWriter.PIECE_BYTES, 3);
    assertThat(resp.call(b("SET"), b("big"), big)).isEqualTo("+OK\r\n");
    assertThat(resp.call(b("SET"), b("huge"), huge)).isEqualTo("+OK\r\n");
    assertThat(resp.call(b("SET"), b("exact"), exact)).isEqualTo("+OK\r\n");
    assertThat(resp.send("SET small s")).isEqualTo("+OK\r\n");

    resp.channel.writeInbound(io.netty.buffer.Unpooled.copiedBuffer(
        RespChannel.encode("PING", "GET big", "GET small", "GET huge", "GET exact", "GET nope", "PING"),
        StandardCharsets.ISO_8859_1));
    List<ByteBuf> buffers = written();

    // The stored values go out from the store's memory, each as its own read-only buffer (RespSession
    // .SHARED_BULK_BYTES); every buffer the writer filled stays within a piece.
    List<Integer> shared = new ArrayList<>();
    for (ByteBuf buf : buffers) {
      if (buf.isReadOnly()) {
        shared.add(buf.readableBytes());
      } else {
        assertThat(buf.readableBytes()).isLessThanOrEqualTo(RespWriter.PIECE_BYTES + 64);
      }
    }
    assertThat(shared).containsExactly(big.length, huge.length, exact.length);
    assertThat(join(buffers)).isEqualTo(
        "+PONG\r\n" + bulk(big) + "$1\r\ns\r\n" + bulk(huge) + bulk(exact) + "$-1\r\n+PONG\r\n");
  }

  @Test
  void largeReply_inResp3_andThenSmallRepliesOnTheSameConnection() {
    byte[] big = value(600_000, 4);
    resp.call(b("SET"), b("big"), big);
    resp.send("HELLO 3");
    assertThat(resp.send("GET big", "GET nope")).isEqualTo(bulk(big) + "_\r\n");
    assertThat(resp.send("PING")).isEqualTo("+PONG\r\n");
  }

  @Test
  void largeReplies_insideExec_exactAndInOrder() {
    byte[] big = value(700_000, 5);
    resp.call(b("SET"), b("big"), big);
    assertThat(resp.send("MULTI", "GET big", "PING", "GET big", "EXEC")).isEqualTo(
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n" + bulk(big) + "+PONG\r\n" + bulk(big));
  }

  @Test
  void largeReply_parkedBehindAPendingOne_writtenAfterIt() {
    ScriptedRouter router = new ScriptedRouter();
    try (RespChannel parked = new RespChannel(router, store, clock)) {
      byte[] big = value(900_000, 6);
      router.hold(true);
      assertThat(parked.send("GET a")).isEmpty();
      router.hold(false);
      router.answer(r -> r.replyValue(big));
      assertThat(parked.send("GET b", "PING")).isEmpty();
      router.pending.get(0).complete(router.requests.get(0).replyValue(b("A")));
      assertThat(parked.output()).isEqualTo("$1\r\nA\r\n" + bulk(big) + "+PONG\r\n");
      // and once nothing is parked, a large reply goes out at once
      assertThat(parked.send("GET c", "PING")).isEqualTo(bulk(big) + "+PONG\r\n");
    }
  }

  /** A router serving locally that keeps every response frame, to see what travelled in it. */
  private static final class Recording implements io.distcache.server.cluster.Router {
    final LocalExecutor local;
    final List<io.distcache.protocol.Frame> responses = new ArrayList<>();
    /** Run each request later on the event loop instead of while it is sent. */
    io.netty.channel.EventLoop later;

    Recording(Store store) {
      local = new LocalExecutor(store);
    }

    @Override
    public java.util.concurrent.CompletableFuture<io.distcache.protocol.Frame> route(io.distcache.protocol.Frame r) {
      if (later == null) {
        io.distcache.protocol.Frame response = local.execute(r);
        responses.add(response);
        return java.util.concurrent.CompletableFuture.completedFuture(response);
      }
      java.util.concurrent.CompletableFuture<io.distcache.protocol.Frame> f = new java.util.concurrent.CompletableFuture<>();
      later.execute(() -> {
        io.distcache.protocol.Frame response = local.execute(r);
        responses.add(response);
        f.complete(response);
      });
      return f;
    }
  }

  @Test
  void get_servedWhileSent_storeWritesTheValueIntoTheReplyNotIntoTheFrame() {
    Recording router = new Recording(store);
    try (RespChannel direct = new RespChannel(router, store, clock)) {
      byte[] big = value(RespWriter.PIECE_BYTES * 3 + 11, 7);
      byte[] small = value(100, 8);
      direct.call(b("SET"), b("big"), big);
      direct.call(b("SET"), b("small"), small);
      router.responses.clear();

      assertThat(direct.send("GET big", "GET small", "GET nope")).isEqualTo(bulk(big) + bulk(small) + "$-1\r\n");

      assertThat(router.responses).hasSize(3);
      assertThat(router.responses.get(0).value()).as("big travelled outside the frame").isEmpty();
      assertThat(router.responses.get(1).value()).as("small too").isEmpty();
      assertThat(router.responses.get(2).status()).isEqualTo(io.distcache.protocol.Status.NOT_FOUND);
    }
  }

  @Test
  void get_answeredAfterItWasSent_valueComesInTheFrame_exactAndInOrder() {
    Recording router = new Recording(store);
    try (RespChannel deferred = new RespChannel(router, store, clock)) {
      byte[] big = value(RespWriter.PIECE_BYTES + 3, 9);
      deferred.call(b("SET"), b("big"), big);
      router.responses.clear();
      router.later = deferred.channel.eventLoop();

      assertThat(deferred.send("GET big", "PING", "GET big")).isEqualTo(bulk(big) + "+PONG\r\n" + bulk(big));

      assertThat(router.responses).hasSize(2);
      assertThat(router.responses.get(0).value()).as("the sink refused a late value").isEqualTo(big);
    }
  }

  @Test
  void get_ofACollection_wrongTypeError_andTheConnectionGoesOn() {
    resp.send("HSET h f v");
    assertThat(resp.send("GET h", "PING")).isEqualTo(
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n+PONG\r\n");
  }
}
