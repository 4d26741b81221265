package io.distcache.spring.boot;

import io.distcache.client.DistCacheClient;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * Health on Spring Boot 3: UP when a node answers a ping, with the cluster's current members;
 * DOWN with the error otherwise. Reported as {@code distCache}.
 */
public class DistCacheBoot3HealthIndicator extends AbstractHealthIndicator {
  private final DistCacheClient client;

  /**
   * An indicator.
   *
   * @param client the client to check
   */
  public DistCacheBoot3HealthIndicator(DistCacheClient client) {
    super("distcache health check failed");
    this.client = client;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) {
    client.ping();
    builder.up().withDetail("members", client.members().size());
  }
}
