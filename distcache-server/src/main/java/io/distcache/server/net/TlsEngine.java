package io.distcache.server.net;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: which TLS engine Netty's SslHandler runs (--tls-engine). OPENSSL is BoringSSL through
 * netty-tcnative-boringssl-static (shipped for linux-x86_64 only); JDK is the JDK's SSLEngine.
 * AUTO picks the one measured faster here (docs/BENCHMARKS.md, "TLS engines") when it can load,
 * and falls back to the JDK's, with one INFO line saying why, when the native library cannot
 * (another OS or CPU, a noexec /tmp). Asking for OPENSSL explicitly where it cannot load is a
 * start-up error, not a silent fallback.
 */

/** The TLS engine: the JDK's or BoringSSL (netty-tcnative). */
public enum TlsEngine {
  AUTO,
  JDK,
  OPENSSL;

  private static final Logger log = LoggerFactory.getLogger(TlsEngine.class);
  /** What AUTO means when BoringSSL loads: the faster engine in docs/BENCHMARKS.md, "TLS engines". */
  static final TlsEngine MEASURED_DEFAULT = OPENSSL;

  /** --tls-engine's value: auto, jdk or openssl (case-insensitive). */
  public static TlsEngine fromName(String s) {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "auto" -> AUTO;
      case "jdk" -> JDK;
      case "openssl", "boringssl" -> OPENSSL;
      default -> throw new IllegalArgumentException("tls-engine: expected auto, jdk or openssl, got '" + s + "'");
    };
  }

  /** True when BoringSSL's native library loaded in this JVM. */
  public static boolean openSslAvailable() {
    return OpenSsl.isAvailable();
  }

  /** Netty's provider for this choice; AUTO resolved here. */
  SslProvider provider() {
    return switch (this) {
      case JDK -> SslProvider.JDK;
      case OPENSSL -> {
        if (!openSslAvailable()) {
          throw new IllegalArgumentException("--tls-engine openssl: BoringSSL (netty-tcnative) cannot load here: "
              + OpenSsl.unavailabilityCause());
        }
        yield SslProvider.OPENSSL;
      }
      case AUTO -> {
        if (MEASURED_DEFAULT == JDK) {
          yield SslProvider.JDK;
        }
        if (openSslAvailable()) {
          yield SslProvider.OPENSSL;
        }
        log.info("TLS uses the JDK's engine: BoringSSL (netty-tcnative) cannot load here ({})",
            String.valueOf(OpenSsl.unavailabilityCause()));
        yield SslProvider.JDK;
      }
    };
  }
}
