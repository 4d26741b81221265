package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.cluster.Address;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SeedResolverTest {

  private static SeedResolver.Lookup table(Map<String, List<String>> names) {
    return host -> {
      List<String> a = names.get(host);
      if (a == null) {
        throw new UnknownHostException(host);
      }
      return a;
    };
  }

  @Test
  void expand_nameResolvesToEveryAddressBehindIt_withTheSamePort() {
    SeedResolver.Lookup dns = table(Map.of("distcache-headless", List.of("10.0.0.1", "10.0.0.2", "10.0.0.3")));

    assertThat(SeedResolver.expand(List.of(new Address("distcache-headless", 7000)), dns)).containsExactly(
        new Address("10.0.0.1", 7000), new Address("10.0.0.2", 7000), new Address("10.0.0.3", 7000));
  }

  @Test
  void expand_literalsAndUnresolvableNames_areKeptAsGiven_withoutDuplicates() {
    SeedResolver.Lookup dns = table(Map.of("a", List.of("10.0.0.1")));
    List<Address> seeds = List.of(new Address("10.0.0.1", 7000), new Address("a", 7000), new Address("::1", 7001),
        new Address("nowhere", 7002));

    assertThat(SeedResolver.expand(seeds, dns)).containsExactly(new Address("10.0.0.1", 7000),
        new Address("::1", 7001), new Address("nowhere", 7002));
  }

  @Test
  void resolve_handsOnlyNewAddressesOn_asPodsAppear() {
    List<String> behind = new ArrayList<>(List.of("10.0.0.1"));
    SeedResolver.Lookup dns = host -> List.copyOf(behind);
    List<Address> named = List.of(new Address("svc", 7000));
    SeedResolver r = SeedResolver.manual(SeedResolver.expand(named, dns));
    List<List<Address>> handed = new ArrayList<>();

    r.resolve(named, dns, handed::add);
    behind.add("10.0.0.2");
    r.resolve(named, dns, handed::add);
    r.resolve(named, dns, handed::add);

    assertThat(handed).containsExactly(List.of(new Address("10.0.0.2", 7000)));
  }

  @Test
  void start_withOnlyLiterals_startsNoThread() {
    assertThat(SeedResolver.start(List.of(new Address("127.0.0.1", 7000)), List.of(), SeedResolver.DNS,
        SeedResolver.RESOLVE_INTERVAL, a -> { })).isNull();
  }
}
