package io.distcache.examples.books;

import io.distcache.server.DistCacheNode;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The sample against in-process nodes (DistCacheNode, the embeddable node): a 2-member cluster. */
class EmbeddedNodeTest {

  @Test
  void booksApp_twoInstances_twoEmbeddedNodes() {
    try (DistCacheNode first = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L << 20).build().start();
        DistCacheNode second = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L << 20)
            .joinAddresses(List.of(InetSocketAddress.createUnresolved("127.0.0.1", first.port()))).build().start()) {
      BooksCacheContract.check("127.0.0.1:" + first.port() + ",127.0.0.1:" + second.port());
    }
  }
}
