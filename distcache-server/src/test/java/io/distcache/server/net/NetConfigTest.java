package io.distcache.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** How many event loops a node gets when nobody says. */
class NetConfigTest {
  private final String saved = System.getProperty(NetConfig.IO_THREADS_PROPERTY);

  @AfterEach
  void restore() {
    if (saved == null) {
      System.clearProperty(NetConfig.IO_THREADS_PROPERTY);
    } else {
      System.setProperty(NetConfig.IO_THREADS_PROPERTY, saved);
    }
  }

  @Test
  void defaultIoThreads_leavesOneCoreSpare_butAlwaysOneLoop() {
    System.clearProperty(NetConfig.IO_THREADS_PROPERTY);
    int cores = Runtime.getRuntime().availableProcessors();
    assertThat(NetConfig.defaultIoThreads()).isEqualTo(Math.max(1, cores - 1));
  }

  @Test
  void defaultIoThreads_propertyWins() {
    System.setProperty(NetConfig.IO_THREADS_PROPERTY, " 3 ");
    assertThat(NetConfig.defaultIoThreads()).isEqualTo(3);
  }

  @Test
  void defaultIoThreads_badProperty_namesTheValue() {
    System.setProperty(NetConfig.IO_THREADS_PROPERTY, "0");
    assertThatThrownBy(NetConfig::defaultIoThreads)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("distcache.ioThreads")
        .hasMessageContaining("'0'");
  }
}
