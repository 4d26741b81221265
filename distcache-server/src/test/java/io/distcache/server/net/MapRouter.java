package io.distcache.server.net;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Status;
import io.distcache.server.cluster.Router;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/** A router over a map, serving PING, SET and GET locally: enough to exercise the network layer. */
final class MapRouter implements Router {
  private final Map<ByteBuffer, byte[]> map = new ConcurrentHashMap<>();

  @Override
  public CompletableFuture<Frame> route(Frame r) {
    Frame reply =
        switch (r.op()) {
          case PING -> r.replyValue(r.value());
          case SET -> {
            map.put(ByteBuffer.wrap(r.key()), r.value());
            yield r.replyOk(1);
          }
          case GET -> {
            byte[] v = map.get(ByteBuffer.wrap(r.key()));
            yield v == null ? r.reply(Status.NOT_FOUND) : r.replyValue(v);
          }
          default -> r.replyError(Status.BAD_REQUEST, "not served by MapRouter: " + r.op());
        };
    return CompletableFuture.completedFuture(reply);
  }
}
