package io.distcache.spring.boot;

import io.distcache.client.DistCacheClient;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * Health on Spring Boot 4: UP when a node answers a ping, with the cluster's current members;
 * DOWN with the error otherwise. Reported as {@code distCache}.
 */
public class DistCacheBoot4HealthIndicator extends AbstractHealthIndicator {
  private final DistCacheClient client;

  /**
   * An indicator.
   *
   * @param client the client to check
   */
  public DistCacheBoot4HealthIndicator(DistCacheClient client) {
    super("distcache health check failed");
    this.client = client;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) {
    client.ping();
    builder.up().withDetail("members", client.members().size());
  }
}
