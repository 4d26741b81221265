package io.distcache.spring.boot;

import io.distcache.client.Codec;
import io.distcache.client.DistCacheClient;
import io.distcache.client.RetryPolicy;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.cache.CacheManager;
import org.springframework.cache.interceptor.CacheAspectSupport;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/*
 * Design: runs before Spring Boot's own cache auto-configuration (named for both lines: Boot 4
 * moved it to spring-boot-cache), so that with @EnableCaching our CacheManager is the one, and
 * Boot's backs off as it does for any CacheManager bean. Every bean backs off for one the
 * application declares. The health indicator has one class per Boot line (Boot 4 moved health to
 * spring-boot-health), each registered only when its line's classes are present.
 */

/**
 * Auto-configuration: a {@link DistCacheClient} from the {@code distcache.*} properties
 * ({@link DistCacheProperties}), a {@link DistCacheCacheManager} when Spring caching is enabled,
 * and a health indicator named {@code distCache} when Actuator is present.
 */
@AutoConfiguration(beforeName = {
    "org.springframework.boot.autoconfigure.cache.CacheAutoConfiguration",
    "org.springframework.boot.cache.autoconfigure.CacheAutoConfiguration"})
@ConditionalOnClass(DistCacheClient.class)
@EnableConfigurationProperties(DistCacheProperties.class)
public class DistCacheAutoConfiguration {

  /** Creates the auto-configuration. */
  public DistCacheAutoConfiguration() {}

  /**
   * The client; closed with the application context.
   *
   * @param properties the {@code distcache.*} properties
   * @return the client
   */
  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  public DistCacheClient distCacheClient(DistCacheProperties properties) {
    DistCacheProperties.Retry retry = properties.getRetry();
    return DistCacheClient.builder()
        .addresses(properties.getAddresses())
        .connectTimeout(properties.getConnectTimeout())
        .requestTimeout(properties.getRequestTimeout())
        .smartRouting(properties.isSmartRouting())
        .retryPolicy(RetryPolicy.of(retry.getMaxAttempts(), retry.getInitialBackoff(), retry.getMaxBackoff()))
        .build();
  }

  /**
   * The Spring caches, when caching is enabled ({@code @EnableCaching}) and no other CacheManager
   * is declared.
   *
   * @param client the client
   * @param properties the {@code distcache.cache.*} properties
   * @param codec a {@code Codec<Object>} bean of the application's, if any (Java serialization otherwise)
   * @param classLoader where the default codec resolves classes
   * @return the cache manager
   */
  @Bean
  @ConditionalOnClass(CacheManager.class)
  @ConditionalOnBean(CacheAspectSupport.class)
  @ConditionalOnMissingBean(CacheManager.class)
  public DistCacheCacheManager cacheManager(DistCacheClient client, DistCacheProperties properties,
      ObjectProvider<Codec<Object>> codec, org.springframework.core.io.ResourceLoader classLoader) {
    DistCacheProperties.Cache cache = properties.getCache();
    Codec<Object> values = codec.getIfAvailable(() -> new JdkSerializationCodec(classLoader.getClassLoader()));
    return new DistCacheCacheManager(client, values, cache.getDefaultTtl(), cache.getTtl(), cache.isAllowNullValues());
  }

  /** The health indicator on Spring Boot 3 (Actuator's HealthIndicator). */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.springframework.boot.actuate.health.AbstractHealthIndicator")
  static class Boot3Health {
    @Bean
    @ConditionalOnMissingBean(name = "distCacheHealthIndicator")
    DistCacheBoot3HealthIndicator distCacheHealthIndicator(DistCacheClient client) {
      return new DistCacheBoot3HealthIndicator(client);
    }
  }

  /** The health indicator on Spring Boot 4 (spring-boot-health's HealthIndicator). */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.springframework.boot.health.contributor.AbstractHealthIndicator")
  static class Boot4Health {
    @Bean
    @ConditionalOnMissingBean(name = "distCacheHealthIndicator")
    DistCacheBoot4HealthIndicator distCacheHealthIndicator(DistCacheClient client) {
      return new DistCacheBoot4HealthIndicator(client);
    }
  }
}
