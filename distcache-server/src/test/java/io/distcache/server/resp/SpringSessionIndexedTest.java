package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.RedisTemplate;
import org.springframework.data.redis.listener.ChannelTopic;
import org.springframework.data.redis.listener.PatternTopic;
import org.springframework.data.redis.listener.RedisMessageListenerContainer;
import org.springframework.data.redis.serializer.StringRedisSerializer;
import org.springframework.session.data.redis.RedisIndexedSessionRepository;
import org.springframework.session.data.redis.config.ConfigureNotifyKeyspaceEventsAction;
import org.springframework.session.events.SessionCreatedEvent;
import org.springframework.session.events.SessionDeletedEvent;
import org.springframework.session.events.SessionExpiredEvent;

/**
 * Spring Session's indexed repository, wired as @EnableRedisIndexedHttpSession wires it: it turns on
 * keyspace notifications with CONFIG SET, and learns of created, deleted and expired sessions from
 * pub/sub messages and the node's "expired" events.
 */
class SpringSessionIndexedTest {
  private RespTestServer server;
  private LettuceConnectionFactory factory;
  private RedisMessageListenerContainer container;
  private RedisIndexedSessionRepository repository;
  private final List<Object> events = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() {
    server = new RespTestServer();
    factory = new LettuceConnectionFactory(new RedisStandaloneConfiguration("127.0.0.1", server.port()));
    factory.afterPropertiesSet();
    factory.start();
    try (var c = factory.getConnection()) {
      new ConfigureNotifyKeyspaceEventsAction().configure(c);
    }
    RedisTemplate<String, Object> template = new RedisTemplate<>();
    template.setConnectionFactory(factory);
    template.setKeySerializer(new StringRedisSerializer());
    template.setHashKeySerializer(new StringRedisSerializer());
    template.afterPropertiesSet();
    repository = new RedisIndexedSessionRepository(template);
    repository.setApplicationEventPublisher(events::add);
    repository.setDefaultMaxInactiveInterval(Duration.ofSeconds(1));
    container = new RedisMessageListenerContainer();
    container.setConnectionFactory(factory);
    container.addMessageListener(repository, List.of(new ChannelTopic(repository.getSessionDeletedChannel()),
        new ChannelTopic(repository.getSessionExpiredChannel())));
    container.addMessageListener(repository, List.of(new PatternTopic(repository.getSessionCreatedChannelPrefix() + "*")));
    container.afterPropertiesSet();
    container.start();
    await().atMost(Duration.ofSeconds(10)).until(container::isRunning);
  }

  @AfterEach
  void stop() throws Exception {
    container.stop();
    container.destroy();
    factory.destroy();
    server.close();
  }

  @Test
  void keyspaceEventsTurnedOn_byTheRepositorysConfigureAction() {
    try (var c = factory.getConnection()) {
      assertThat(c.serverCommands().getConfig("notify-keyspace-events"))
          .containsEntry("notify-keyspace-events", "gxE");
    }
  }

  @Test
  void session_created_expires_andTheRepositoryIsTold() {
    RedisIndexedSessionRepository.RedisSession session = repository.createSession();
    session.setAttribute("user", "alice");
    repository.save(session);
    String id = session.getId();
    await().atMost(Duration.ofSeconds(10)).until(() -> events.stream()
        .anyMatch(e -> e instanceof SessionCreatedEvent c && c.getSessionId().equals(id)));
    // Its "expires" key lives for the 1 s max inactive interval; the node's expiry publishes
    // __keyevent@0__:expired, on which the repository fires SessionExpiredEvent.
    await().atMost(Duration.ofSeconds(20)).until(() -> events.stream()
        .anyMatch(e -> e instanceof SessionExpiredEvent x && x.getSessionId().equals(id)));
    assertThat(repository.findById(id)).isNull();
  }

  @Test
  void session_deleted_theRepositoryIsTold() {
    RedisIndexedSessionRepository.RedisSession session = repository.createSession();
    repository.save(session);
    repository.deleteById(session.getId());
    await().atMost(Duration.ofSeconds(10)).until(() -> events.stream()
        .anyMatch(e -> e instanceof SessionDeletedEvent d && d.getSessionId().equals(session.getId())));
  }
}
