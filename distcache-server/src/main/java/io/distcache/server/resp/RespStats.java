package io.distcache.server.resp;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/*
 * Design: counters are LongAdders because every event-loop thread bumps them on every command; the
 * client registry is a concurrent map because CLIENT LIST on one connection reads clients served by
 * other threads. The node owns one instance and hands it to every connection (and may show the
 * counters elsewhere).
 */

/** Connection and command counters for INFO, and the registry behind CLIENT LIST. */
public final class RespStats {
  private final LongAdder commandsProcessed = new LongAdder();
  private final LongAdder connectionsReceived = new LongAdder();
  private final AtomicLong nextClientId = new AtomicLong();
  private final ConcurrentHashMap<Long, ClientState> clients = new ConcurrentHashMap<>();
  private final LongAdder watchingClients = new LongAdder();
  private final LongAdder watchedKeys = new LongAdder();

  /** Clients watching at least one key now (Redis watching_clients). */
  public long watchingClients() {
    return watchingClients.sum();
  }

  /**
   * Keys watched now, each connection's counted (Redis total_watched_keys counts a key that several
   * clients watch once).
   */
  public long watchedKeys() {
    return watchedKeys.sum();
  }

  /** A connection watches {@code keys} more, {@code firstKeys} when it watched none before. */
  void watched(int keys, boolean firstKeys) {
    if (firstKeys) {
      watchingClients.increment();
    }
    watchedKeys.add(keys);
  }

  /** A connection that watched {@code keys} keys unwatched them all (UNWATCH, EXEC, DISCARD, RESET, close). */
  void unwatched(int keys) {
    if (keys > 0) {
      watchingClients.decrement();
      watchedKeys.add(-keys);
    }
  }

  /** Clients connected now. */
  public long connectedClients() {
    return clients.size();
  }

  /** Commands executed since the node started (Redis total_commands_processed). */
  public long totalCommandsProcessed() {
    return commandsProcessed.sum();
  }

  /** Connections accepted since the node started (Redis total_connections_received). */
  public long totalConnectionsReceived() {
    return connectionsReceived.sum();
  }

  /** CONFIG RESETSTAT. */
  void reset() {
    commandsProcessed.reset();
    connectionsReceived.reset();
  }

  void commandProcessed() {
    commandsProcessed.increment();
  }

  long nextClientId() {
    return nextClientId.incrementAndGet();
  }

  void connected(ClientState client) {
    connectionsReceived.increment();
    clients.put(client.id, client);
  }

  void disconnected(ClientState client) {
    clients.remove(client.id);
  }

  /** The connected clients, ordered by id. */
  List<ClientState> clients() {
    Collection<ClientState> values = clients.values();
    List<ClientState> out = new ArrayList<>(values);
    out.sort((a, b) -> Long.compare(a.id, b.id));
    return out;
  }
}
