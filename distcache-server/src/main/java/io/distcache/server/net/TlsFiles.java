package io.distcache.server.net;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Locale;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the TLS port's certificate, key and CA come from files (Redis's tls-cert-file,
 * tls-key-file, tls-ca-cert-file) and are reloaded when those files change, without a restart: each
 * new connection asks for the context, and at most once a second that looks at the files'
 * modification times; a changed set is loaded into a new SslContext, which later connections get
 * (open ones keep theirs). A set that fails to load (a half-written renewal) is logged and the
 * previous context is kept, so a bad deploy never takes TLS down. TLS 1.2 and 1.3 only.
 *
 * With a CA file the same set also gives the cluster bus its two contexts (--tls-cluster): a server
 * context that always requires a peer certificate chaining to the CA, whatever --tls-auth-clients
 * says (that flag is about clients), and a client context that presents our certificate and
 * verifies the peer's chain against the CA. The bus checks the chain, not the host name: members
 * often share one certificate, and their addresses come from membership, not from DNS (Redis's
 * cluster bus does the same). All three are reloaded together.
 *
 * The engine (TlsEngine): the JDK's or BoringSSL through netty-tcnative, chosen by measurement
 * (docs/BENCHMARKS.md), with the JDK's as the fallback when the native library cannot load.
 */

/** The TLS server context from certificate files, reloaded when they change. */
public final class TlsFiles {
  private static final Logger log = LoggerFactory.getLogger(TlsFiles.class);
  private static final long CHECK_INTERVAL_NANOS = 1_000_000_000L;
  static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  /** Redis's tls-auth-clients: yes (a client certificate is required), no, optional. */
  public enum AuthClients {
    YES(ClientAuth.REQUIRE), NO(ClientAuth.NONE), OPTIONAL(ClientAuth.OPTIONAL);

    final ClientAuth netty;

    AuthClients(ClientAuth netty) {
      this.netty = netty;
    }

    public static AuthClients fromName(String s) {
      return switch (s.toLowerCase(Locale.ROOT)) {
        case "yes" -> YES;
        case "no" -> NO;
        case "optional" -> OPTIONAL;
        default -> throw new IllegalArgumentException("tls-auth-clients: expected yes, no or optional, got '" + s + "'");
      };
    }
  }

  private final Path cert;
  private final Path key;
  private final Path ca;
  private final AuthClients auth;
  private final SslProvider provider;
  private volatile Contexts current;
  private volatile long nextCheckNanos;
  private FileTime[] loadedTimes;

  /**
   * Loads the files now (errors name the file, never its content).
   *
   * @param ca the CA that client certificates must chain to; required unless {@code auth} is NO
   */
  public TlsFiles(Path cert, Path key, Path ca, AuthClients auth) {
    this(cert, key, ca, auth, TlsEngine.AUTO);
  }

  /** As above, with the engine: AUTO is the measured default, with the JDK's when BoringSSL cannot load. */
  public TlsFiles(Path cert, Path key, Path ca, AuthClients auth, TlsEngine engine) {
    if (cert == null || key == null) {
      throw new IllegalArgumentException("TLS needs --tls-cert-file and --tls-key-file");
    }
    if (ca == null && auth != AuthClients.NO) {
      throw new IllegalArgumentException("--tls-auth-clients " + auth.name().toLowerCase(Locale.ROOT)
          + " needs --tls-ca-cert-file (the CA client certificates must chain to)");
    }
    this.cert = cert;
    this.key = key;
    this.ca = ca;
    this.auth = auth;
    this.provider = engine.provider();
    try {
      this.loadedTimes = times();
      this.current = load();
    } catch (Exception e) {
      throw new IllegalArgumentException("cannot load the TLS files (" + cert + ", " + key + (ca != null ? ", " + ca : "")
          + "): " + e.getMessage(), e);
    }
    this.nextCheckNanos = System.nanoTime() + CHECK_INTERVAL_NANOS;
  }

  /** The context for a new connection: reloaded first when the files changed since the last load. */
  public SslContext context() {
    return fresh().clients();
  }

  /** True when the files include a CA, which the cluster bus needs (each side verifies the other). */
  public boolean canSecureClusterBus() {
    return ca != null;
  }

  /** The context a new incoming cluster-bus connection gets: our certificate, a peer certificate required. */
  public SslContext busServerContext() {
    return requireBus(fresh().busServer());
  }

  /** The context a new outgoing cluster-bus connection gets: our certificate, the peer's chain checked. */
  public SslContext busClientContext() {
    return requireBus(fresh().busClient());
  }

  /** "JDK" or "OPENSSL" (BoringSSL): the engine in use. */
  public String engine() {
    return provider.name();
  }

  private SslContext requireBus(SslContext c) {
    if (c == null) {
      throw new IllegalStateException("the cluster bus needs --tls-ca-cert-file (each member verifies the other's certificate)");
    }
    return c;
  }

  private Contexts fresh() {
    long now = System.nanoTime();
    if (now - nextCheckNanos >= 0) {
      reloadIfChanged(now);
    }
    return current;
  }

  private synchronized void reloadIfChanged(long now) {
    if (now - nextCheckNanos < 0) {
      return;
    }
    nextCheckNanos = now + CHECK_INTERVAL_NANOS;
    try {
      FileTime[] t = times();
      if (java.util.Arrays.equals(t, loadedTimes)) {
        return;
      }
      Contexts fresh = load();
      current = fresh;
      loadedTimes = t;
      log.info("TLS certificate and key reloaded from {} and {}", cert, key);
    } catch (Exception e) {
      log.warn("TLS files changed but cannot be loaded ({}); keeping the previous certificate", e.getMessage());
    }
  }

  private FileTime[] times() throws java.io.IOException {
    return new FileTime[] {
      Files.getLastModifiedTime(cert), Files.getLastModifiedTime(key), ca == null ? null : Files.getLastModifiedTime(ca)
    };
  }

  /** The three contexts from one read of the files (the bus's two only with a CA). */
  private record Contexts(SslContext clients, SslContext busServer, SslContext busClient) {}

  private Contexts load() throws SSLException {
    SslContextBuilder b = SslContextBuilder.forServer(cert.toFile(), key.toFile())
        .sslProvider(provider)
        .protocols(PROTOCOLS)
        .clientAuth(auth.netty);
    CaTrust trust = ca == null ? null : CaTrust.of(ca, provider);
    if (trust != null) {
      b.trustManager(trust);
    }
    SslContext clients = b.build();
    if (ca == null) {
      return new Contexts(clients, null, null);
    }
    SslContext busServer = SslContextBuilder.forServer(cert.toFile(), key.toFile())
        .sslProvider(provider)
        .protocols(PROTOCOLS)
        .clientAuth(ClientAuth.REQUIRE)
        .trustManager(trust)
        .build();
    SslContext busClient = SslContextBuilder.forClient()
        .sslProvider(provider)
        .protocols(PROTOCOLS)
        .keyManager(cert.toFile(), key.toFile())
        .trustManager(trust)
        .endpointIdentificationAlgorithm(null) // the chain, not the host name (see Design)
        .build();
    return new Contexts(clients, busServer, busClient);
  }
}
