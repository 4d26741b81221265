package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.HashOperations;
import org.springframework.data.redis.core.RedisTemplate;
import org.springframework.data.redis.core.SetOperations;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.serializer.StringRedisSerializer;
import org.springframework.session.MapSession;
import org.springframework.session.Session;
import org.springframework.session.SessionRepository;
import org.springframework.session.data.redis.RedisSessionRepository;

/** Spring Data Redis's RedisTemplate hash and set operations and Spring Session's RedisSessionRepository against a node. */
class SpringRedisTest {
  private static RespTestServer server;
  private static LettuceConnectionFactory factory;
  private static StringRedisTemplate template;

  @BeforeAll
  static void start() {
    server = new RespTestServer();
    factory = new LettuceConnectionFactory(new RedisStandaloneConfiguration("127.0.0.1", server.port()));
    factory.afterPropertiesSet();
    factory.start();
    template = new StringRedisTemplate(factory);
  }

  @AfterAll
  static void stop() {
    factory.destroy();
    server.close();
  }

  @BeforeEach
  void clean() {
    template.execute((org.springframework.data.redis.core.RedisCallback<Object>) c -> {
      c.serverCommands().flushAll();
      return null;
    });
  }

  @Test
  void redisTemplate_hashOperations() {
    HashOperations<String, String, String> hash = template.opsForHash();
    hash.putAll("cart:1", Map.of("apples", "3", "pears", "1"));
    hash.put("cart:1", "plums", "7");
    assertThat(hash.putIfAbsent("cart:1", "plums", "8")).isFalse();
    assertThat(hash.get("cart:1", "apples")).isEqualTo("3");
    assertThat(hash.multiGet("cart:1", java.util.List.of("pears", "none"))).containsExactly("1", null);
    assertThat(hash.increment("cart:1", "apples", 2)).isEqualTo(5);
    assertThat(hash.increment("cart:1", "weight", 0.5)).isEqualTo(0.5);
    assertThat(hash.entries("cart:1")).containsExactlyInAnyOrderEntriesOf(
        Map.of("apples", "5", "pears", "1", "plums", "7", "weight", "0.5"));
    assertThat(hash.size("cart:1")).isEqualTo(4);
    assertThat(hash.hasKey("cart:1", "pears")).isTrue();
    assertThat(hash.lengthOfValue("cart:1", "plums")).isEqualTo(1);
    assertThat(hash.randomKey("cart:1")).isIn("apples", "pears", "plums", "weight");
    assertThat(hash.delete("cart:1", "apples", "pears", "plums", "weight")).isEqualTo(4);
    assertThat(template.hasKey("cart:1")).isFalse();
  }

  @Test
  void redisTemplate_setOperations() {
    SetOperations<String, String> set = template.opsForSet();
    assertThat(set.add("{tags}a", "x", "y", "z")).isEqualTo(3);
    assertThat(set.add("{tags}b", "y", "z", "w")).isEqualTo(3);
    assertThat(set.isMember("{tags}a", "x")).isTrue();
    assertThat(set.isMember("{tags}a", "x", "q")).containsExactlyInAnyOrderEntriesOf(Map.of("x", true, "q", false));
    assertThat(set.members("{tags}a")).containsExactlyInAnyOrder("x", "y", "z");
    assertThat(set.size("{tags}a")).isEqualTo(3);
    assertThat(set.intersect("{tags}a", "{tags}b")).containsExactlyInAnyOrder("y", "z");
    assertThat(set.union("{tags}a", "{tags}b")).containsExactlyInAnyOrder("x", "y", "z", "w");
    assertThat(set.difference("{tags}a", "{tags}b")).containsExactly("x");
    assertThat(set.intersectAndStore("{tags}a", "{tags}b", "{tags}c")).isEqualTo(2);
    assertThat(set.move("{tags}a", "x", "{tags}c")).isTrue();
    assertThat(set.randomMembers("{tags}c", 5)).hasSize(5);
    assertThat(set.distinctRandomMembers("{tags}c", 5)).containsExactlyInAnyOrder("x", "y", "z");
    assertThat(set.remove("{tags}c", "x")).isEqualTo(1);
    assertThat(set.pop("{tags}c", 2)).containsExactlyInAnyOrder("y", "z");
    assertThat(template.hasKey("{tags}c")).isFalse();
    assertThat(template.type("{tags}a").code()).isEqualTo("set");
  }

  @Test
  void springSession_storesReadsAndExpiresASession() {
    RedisTemplate<String, Object> operations = new RedisTemplate<>();
    operations.setConnectionFactory(factory);
    operations.setKeySerializer(new StringRedisSerializer());
    operations.setHashKeySerializer(new StringRedisSerializer());
    operations.afterPropertiesSet();
    storeReadExpire(new RedisSessionRepository(operations));
  }

  /** Generic in the session type, which RedisSessionRepository keeps package-private. */
  private static <S extends Session> void storeReadExpire(SessionRepository<S> repository) {
    S session = repository.createSession();
    session.setAttribute("user", "ada");
    session.setAttribute("visits", 3);
    repository.save(session);
    String key = "spring:session:sessions:" + session.getId();
    assertThat(template.type(key).code()).isEqualTo("hash");

    S read = repository.findById(session.getId());
    assertThat(read).isNotNull();
    assertThat((String) read.getAttribute("user")).isEqualTo("ada");
    assertThat((Integer) read.getAttribute("visits")).isEqualTo(3);
    assertThat(template.getExpire(key)).isPositive().isLessThanOrEqualTo(MapSession.DEFAULT_MAX_INACTIVE_INTERVAL.toSeconds());

    read.setAttribute("visits", 4);
    read.setMaxInactiveInterval(Duration.ofSeconds(1));
    repository.save(read);
    S again = repository.findById(session.getId());
    assertThat((Integer) again.getAttribute("visits")).isEqualTo(4);
    await().atMost(Duration.ofSeconds(10)).until(() -> !template.hasKey(key));
    assertThat(repository.findById(session.getId())).isNull();
  }
}
