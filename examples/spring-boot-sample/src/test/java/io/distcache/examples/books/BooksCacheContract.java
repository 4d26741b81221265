package io.distcache.examples.books;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.client.DistCacheClient;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.cache.CacheManager;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * What the sample must show against any cluster, with two application instances (two contexts)
 * sharing it: a second lookup is a hit in either instance, the TTL per cache is applied, evicting
 * one key or all entries on one instance is seen by the other, and health is UP.
 */
final class BooksCacheContract {
  private BooksCacheContract() {}

  static ConfigurableApplicationContext start(String addresses) {
    // As command-line arguments: they override application.properties (builder properties do not).
    return new SpringApplicationBuilder(BooksApplication.class)
        .run("--distcache.addresses=" + addresses, "--spring.main.web-application-type=none");
  }

  static void check(String addresses) {
    try (ConfigurableApplicationContext a = start(addresses); ConfigurableApplicationContext b = start(addresses)) {
      BookService booksA = a.getBean(BookService.class);
      BookService booksB = b.getBean(BookService.class);
      DistCacheClient client = a.getBean(DistCacheClient.class);
      assertThat(a.getBean(CacheManager.class)).isInstanceOf(io.distcache.spring.boot.DistCacheCacheManager.class);
      String run = Long.toString(System.nanoTime());
      booksA.reloadAll();

      Book first = booksA.find("isbn-1-" + run);
      assertThat(booksA.find("isbn-1-" + run)).isEqualTo(first);
      assertThat(booksB.find("isbn-1-" + run)).as("instance B hits what A cached").isEqualTo(first);
      assertThat(booksA.lookups()).isEqualTo(1);
      assertThat(booksB.lookups()).isZero();

      long ttl = client.ttl("books::isbn-1-" + run);
      assertThat(ttl).as("books live 10 minutes").isBetween(1L, 600_000L);
      booksA.cover("isbn-1-" + run);
      assertThat(client.ttl("covers::isbn-1-" + run)).as("covers live an hour").isBetween(600_001L, 3_600_000L);

      booksB.changed("isbn-1-" + run);
      long lookupsBefore = booksA.lookups();
      assertThat(booksA.find("isbn-1-" + run).loadedBy()).as("evicted by B, reloaded by A").isEqualTo(lookupsBefore + 1);

      for (int i = 0; i < 50; i++) {
        booksA.find("bulk-" + i + "-" + run);
      }
      long before = booksA.lookups();
      booksB.reloadAll();
      assertThat(client.exists("books::bulk-7-" + run)).as("allEntries evicts on every member").isFalse();
      assertThat(client.exists("covers::isbn-1-" + run)).as("other caches stay").isTrue();
      booksA.find("bulk-7-" + run);
      assertThat(booksA.lookups()).isEqualTo(before + 1);

      Object health = healthOf(a);
      assertThat(health.toString()).contains("UP");
    }
  }

  /** The distCache health indicator's health, on either Boot line. */
  private static Object healthOf(ConfigurableApplicationContext context) {
    Object indicator = context.getBean("distCacheHealthIndicator");
    try {
      return indicator.getClass().getMethod("health").invoke(indicator);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError("distCacheHealthIndicator has no health(): " + indicator, e);
    }
  }
}
