package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.cluster.Address;
import io.distcache.server.bus.Peers;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;

/** Peers for tests of one node's replication: a function answers every request. */
final class TestPeers implements Peers {
  private final BiFunction<Address, Frame, CompletableFuture<Frame>> answer;

  private TestPeers(BiFunction<Address, Frame, CompletableFuture<Frame>> answer) {
    this.answer = answer;
  }

  /** Peers whose reply to each request is what {@code answer} returns. */
  static Peers answering(BiFunction<Address, Frame, CompletableFuture<Frame>> answer) {
    return new TestPeers(answer);
  }

  /** Peers that apply every REPLICATE batch at once (OK with its last number) and answer OK to the rest. */
  static Peers applyingAll() {
    return new TestPeers((to, request) -> {
      if (request.op() == io.distcache.protocol.Opcode.REPLICATE) {
        int n = EffectCodec.decode(request.value()).size();
        return CompletableFuture.completedFuture(request.replyOk(request.extras()[1] + n - 1));
      }
      return CompletableFuture.completedFuture(request.replyOk());
    });
  }

  /** Peers that show each request to {@code seen}, then answer OK at once. */
  static Peers ok(BiConsumer<Address, Frame> seen) {
    return new TestPeers((to, request) -> {
      seen.accept(to, request);
      return CompletableFuture.completedFuture(request.replyOk());
    });
  }

  @Override
  public CompletableFuture<Frame> send(Address to, Frame request) {
    return answer.apply(to, request);
  }

  @Override
  public void retainOnly(Set<Address> keep) {}

  @Override
  public void close() {}
}
