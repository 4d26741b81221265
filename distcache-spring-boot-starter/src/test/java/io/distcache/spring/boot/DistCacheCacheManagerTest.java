package io.distcache.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.client.DistCacheClient;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.cache.support.NullValue;

class DistCacheCacheManagerTest {
  // Connects lazily: nothing here sends a request.
  private final DistCacheClient client = DistCacheClient.builder().addresses("127.0.0.1:1").smartRouting(false).build();

  @AfterEach
  void close() {
    client.close();
  }

  @Test
  void getCache_perNameTtlElseDefault_andTheSameCacheForTheSameName() {
    DistCacheCacheManager manager = new DistCacheCacheManager(client, new JdkSerializationCodec(getClass().getClassLoader()),
        Duration.ofMinutes(10), Map.of("users", Duration.ofSeconds(30)), true);

    assertThat(((DistCacheSpringCache) manager.getCache("users")).getTtl()).isEqualTo(Duration.ofSeconds(30));
    assertThat(((DistCacheSpringCache) manager.getCache("books")).getTtl()).isEqualTo(Duration.ofMinutes(10));
    assertThat(manager.getCache("users")).isSameAs(manager.getCache("users"));
    assertThat(manager.getCacheNames()).containsExactlyInAnyOrder("users", "books");
  }

  @Test
  void constructor_zeroOrNegativeTtl_isRefusedNamingTheProperty() {
    JdkSerializationCodec codec = new JdkSerializationCodec(getClass().getClassLoader());
    assertThatThrownBy(() -> new DistCacheCacheManager(client, codec, Duration.ZERO, Map.of(), true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("distcache.cache.default-ttl must be positive (leave it unset for no expiry), got: PT0S");
    assertThatThrownBy(() -> new DistCacheCacheManager(client, codec, null, Map.of("users", Duration.ofSeconds(-1)), true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("distcache.cache.ttl.users must be positive");
  }

  @Test
  void escapeGlob_matchesTheNameLiterally() {
    assertThat(DistCacheSpringCache.escapeGlob("a*b?[c]\\::")).isEqualTo("a\\*b\\?\\[c\\]\\\\::");
    assertThat(DistCacheSpringCache.escapeGlob("books::")).isEqualTo("books::");
  }

  @Test
  void jdkCodec_roundTripsValuesAndSpringsNullMarker() {
    JdkSerializationCodec codec = new JdkSerializationCodec(getClass().getClassLoader());
    assertThat(codec.decode(codec.encode(Map.of("k", 1)))).isEqualTo(Map.of("k", 1));
    assertThat(codec.decode(codec.encode(NullValue.INSTANCE))).isSameAs(NullValue.INSTANCE);
  }
}
