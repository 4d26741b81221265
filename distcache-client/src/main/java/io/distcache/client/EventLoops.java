package io.distcache.client;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;

/*
 * Design: the client runs beside whatever Netty the application pins, 4.1 or 4.2 (Spring Boot 3
 * pins 4.1, Spring Boot 4 and Lettuce 7 bring 4.2), so it uses only Netty API present in both.
 * NioEventLoopGroup is that API: 4.2 deprecates it in favour of MultiThreadIoEventLoopGroup with
 * NioIoHandler (absent from 4.1) but keeps it as a thin subclass of exactly that, so on 4.2 this
 * costs nothing. Every event loop the client (and its tests' fake servers) creates comes from here,
 * so a build against 4.1 (the client module's netty-4.1 test run) checks the whole client.
 */
final class EventLoops {
  private EventLoops() {}

  /** An NIO event loop group of {@code threads} daemon threads named {@code name-N-M}. */
  @SuppressWarnings("deprecation")
  static EventLoopGroup nio(int threads, String name) {
    return new NioEventLoopGroup(threads, new DefaultThreadFactory(name, true));
  }
}
