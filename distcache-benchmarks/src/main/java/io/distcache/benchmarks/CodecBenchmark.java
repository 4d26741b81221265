package io.distcache.benchmarks;

import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameDecoder;
import io.distcache.protocol.FrameEncoder;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Encode and decode of one SET request (16-byte key, a ttl extra, values of several sizes): the
 * codec's cost per frame, without sockets. Encoding writes into a pooled direct buffer sized to the
 * frame, as the pipeline does; decoding reads a whole frame from a pooled buffer into a Frame.
 *
 * <pre>
 * java -jar distcache-benchmarks/target/benchmarks.jar CodecBenchmark -f 1 -wi 2 -i 3 -w 1s -r 2s
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class CodecBenchmark {

  @Param({"16", "100", "1024", "16384"})
  int valueSize;

  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
  private Frame frame;
  private ByteBuf wire;

  @Setup(Level.Trial)
  public void setUp() {
    byte[] key = "user:00000012345".getBytes(StandardCharsets.US_ASCII);
    byte[] value = new byte[valueSize];
    ThreadLocalRandom.current().nextBytes(value);
    frame = Frame.request(Opcode.SET, 0, key, value, 60_000).withRequestId(7);
    wire = alloc.directBuffer(frame.encodedLength());
    FrameEncoder.write(frame, wire);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    wire.release();
  }

  @Benchmark
  public int encode() {
    ByteBuf out = alloc.directBuffer(frame.encodedLength(), frame.encodedLength());
    try {
      FrameEncoder.write(frame, out);
      return out.writerIndex();
    } finally {
      out.release();
    }
  }

  @Benchmark
  public Frame decode() {
    wire.readerIndex(0);
    return FrameDecoder.readFrame(wire, ProtocolConstants.DEFAULT_MAX_FRAME_BYTES);
  }
}
