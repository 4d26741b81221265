package io.distcache.server.pubsub;

import java.util.List;

/** Tests' subscriptions straight on a hub, each through a reservation of its own as a command takes one. */
public final class HubSubscriptions {
  private HubSubscriptions() {}

  public static boolean subscribe(PubSubHub hub, Subscriber s, byte[] channel) {
    try (PubSubHub.Reservation room = hub.reserve(List.of(channel))) {
      return hub.subscribe(s, channel, room);
    }
  }

  public static boolean psubscribe(PubSubHub hub, Subscriber s, byte[] pattern) {
    try (PubSubHub.Reservation room = hub.reserve(List.of(pattern))) {
      return hub.psubscribe(s, pattern, room);
    }
  }
}
