package io.distcache.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HostPortTest {

  @Test
  void parse_portOnly_leavesHostOut() {
    assertThat(HostPort.parse(":7000")).isEqualTo(new HostPort(null, 7000));
  }

  @Test
  void parse_hostAndPort_keepsBoth() {
    assertThat(HostPort.parse("127.0.0.1:7001")).isEqualTo(new HostPort("127.0.0.1", 7001));
    assertThat(HostPort.parse("node1.example:7002")).isEqualTo(new HostPort("node1.example", 7002));
  }

  @Test
  void parse_bracketedIpv6_stripsBrackets() {
    HostPort hp = HostPort.parse("[::1]:7000");
    assertThat(hp).isEqualTo(new HostPort("::1", 7000));
    assertThat(hp).hasToString("[::1]:7000");
  }

  @Test
  void hostOrLoopback_hostLeftOut_meansThisMachine() {
    assertThat(HostPort.parse(":7000").hostOrLoopback()).isEqualTo("127.0.0.1");
  }

  @ParameterizedTest
  @ValueSource(strings = {"7000", "host:", "host:abc", ":70000", ":-1", "::1:7000", " "})
  void parse_malformed_namesTheValue(String text) {
    assertThatThrownBy(() -> HostPort.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageMatching("(?s).*(address|port).*");
  }

  @Test
  void parse_portOutOfRange_namesPortAndRange() {
    assertThatThrownBy(() -> HostPort.parse(":70000")).hasMessageContaining("70000").hasMessageContaining("0..65535");
  }
}
