package io.distcache.server.net;

import io.netty.handler.ssl.OpenSslCertificateException;
import io.netty.handler.ssl.SslProvider;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/*
 * Design: the JDK's trust manager over the CA file, as Netty would build it, with one change for
 * BoringSSL: a certificate that chains to no trusted CA is reported as such. The JDK says so with a
 * CertificateException caused by a CertPathBuilderException ("unable to find valid certification
 * path"; or a CertPathValidatorException, "signature check failed", for another CA of the same name), which Netty's BoringSSL verifier does not recognise and passes on as an unspecified
 * error, so the peer got alert 80, "internal error", and redis-py showed TLSV1_ALERT_INTERNAL_ERROR
 * for a client certificate from another CA (a tester). Rethrown as OpenSSL's "unable to get local
 * issuer certificate", BoringSSL sends alert 48, "unknown CA", which names the problem. The JDK's
 * own engine picks its alert itself and gets the exception unchanged.
 */

/** The trust manager for certificates that must chain to the CA in one PEM file. */
final class CaTrust extends X509ExtendedTrustManager {
  /**
   * OpenSSL's and BoringSSL's X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY (x509_vfy.h), which
   * BoringSSL answers with alert 48, unknown_ca. By value: netty-tcnative, which names it, is only
   * on the runtime class path.
   */
  private static final int UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20;
  private final X509ExtendedTrustManager jdk;
  private final boolean boringSsl;

  private CaTrust(X509ExtendedTrustManager jdk, boolean boringSsl) {
    this.jdk = jdk;
    this.boringSsl = boringSsl;
  }

  /** Trusts the certificates in {@code caFile} (PEM, one or more) for an engine of {@code provider}. */
  static CaTrust of(Path caFile, SslProvider provider) throws SSLException {
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      try (InputStream in = Files.newInputStream(caFile)) {
        for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
          store.setCertificateEntry("ca-" + i++, c);
        }
      }
      if (i == 0) {
        throw new SSLException("no certificate in the CA file " + caFile);
      }
      TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      f.init(store);
      for (TrustManager t : f.getTrustManagers()) {
        if (t instanceof X509ExtendedTrustManager x) {
          return new CaTrust(x, provider == SslProvider.OPENSSL);
        }
      }
      throw new SSLException("the JDK offers no X.509 trust manager");
    } catch (java.io.IOException | GeneralSecurityException e) {
      throw new SSLException("cannot read the CA file " + caFile + ": " + e.getMessage(), e);
    }
  }

  private CertificateException named(CertificateException e) {
    if (!boringSsl) {
      return e;
    }
    for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
      // No path to a trusted CA, or a path to one of the same name whose signature does not verify
      // (another CA that happens to share its subject): either way the issuer is not one we know.
      if (t instanceof CertPathBuilderException || t instanceof CertPathValidatorException v
          && v.getReason() == CertPathValidatorException.BasicReason.INVALID_SIGNATURE) {
        return new OpenSslCertificateException(e.getMessage(), e,
            UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
      }
    }
    return e;
  }

  /** One of the JDK manager's checks. */
  @FunctionalInterface
  private interface Check {
    void run() throws CertificateException;
  }

  private void checked(Check check) throws CertificateException {
    try {
      check.run();
    } catch (CertificateException e) {
      throw named(e);
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    checked(() -> jdk.checkClientTrusted(chain, authType));
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checked(() -> jdk.checkClientTrusted(chain, authType, socket));
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    checked(() -> jdk.checkClientTrusted(chain, authType, engine));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    checked(() -> jdk.checkServerTrusted(chain, authType));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checked(() -> jdk.checkServerTrusted(chain, authType, socket));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    checked(() -> jdk.checkServerTrusted(chain, authType, engine));
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return jdk.getAcceptedIssuers();
  }
}
