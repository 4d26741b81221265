package io.distcache.server.resp;

import io.distcache.protocol.Frame;
import io.distcache.server.cluster.HeldReply;
import io.distcache.server.cluster.Router;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/** A router that records requests and answers them with a test-chosen function, or leaves them pending. */
final class ScriptedRouter implements Router {
  final List<Frame> requests = new ArrayList<>();
  final List<CompletableFuture<Frame>> pending = new ArrayList<>();
  private Function<Frame, Frame> answer = Frame::replyOk;
  private boolean hold;
  private int heldWrites;

  /** The next {@code count} requests are held writes (a HeldReply, pending until the test completes it). */
  void holdWrites(int count) {
    heldWrites = count;
  }

  void answer(Function<Frame, Frame> answer) {
    this.answer = answer;
  }

  /** From now on, requests stay pending until the test completes them. */
  void hold(boolean hold) {
    this.hold = hold;
  }

  Frame last() {
    return requests.get(requests.size() - 1);
  }

  @Override
  public CompletableFuture<Frame> route(Frame request) {
    if (request.buffered() != null && !hold) {
      request.value(); // answered now: recorded as read while the connection lends its buffer (BufferedValue)
    }
    requests.add(request);
    if (heldWrites > 0) {
      heldWrites--;
      CompletableFuture<Frame> f = new HeldReply();
      pending.add(f);
      return f;
    }
    if (hold) {
      CompletableFuture<Frame> f = new CompletableFuture<>();
      pending.add(f);
      return f;
    }
    return CompletableFuture.completedFuture(answer.apply(request));
  }
}
