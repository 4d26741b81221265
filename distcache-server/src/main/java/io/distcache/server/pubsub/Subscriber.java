package io.distcache.server.pubsub;

/**
 * One local connection that subscribes to channels, patterns or shard channels. The hub calls these
 * from whatever thread publishes; an implementation hands the message to its connection's own
 * thread, and must never block (a subscriber over its output limit is disconnected instead).
 */
public interface Subscriber {
  /** A message on a channel it subscribed to (SUBSCRIBE). */
  void message(byte[] channel, byte[] message);

  /** A message on a channel matching a pattern it subscribed to (PSUBSCRIBE). */
  void patternMessage(byte[] pattern, byte[] channel, byte[] message);

  /** A message on a shard channel it subscribed to (SSUBSCRIBE). */
  void shardMessage(byte[] channel, byte[] message);
}
