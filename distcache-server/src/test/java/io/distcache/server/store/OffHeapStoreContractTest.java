package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;

/** The whole contract suite against the production store, with its bookkeeping checked after each test. */
class OffHeapStoreContractTest extends StoreContractTest {

  @Override
  protected Store create(StoreConfig config) {
    return new OffHeapStore(config);
  }

  @AfterEach
  void bookkeepingHolds() {
    if (store instanceof OffHeapStore) {
      assertThat(((OffHeapStore) store).validate()).isNull();
    }
  }
}
