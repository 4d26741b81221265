package io.distcache.server.net;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.distcache.server.TestCerts;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslCertificateException;
import io.netty.handler.ssl.SslProvider;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A certificate from another CA is refused by either engine; for BoringSSL as "unable to get local
 * issuer certificate" (OpenSSL's 20), which it answers with alert unknown_ca instead of the
 * internal_error an unrecognised exception gave (a tester, with redis-py and openssl s_client).
 */
class CaTrustTest {
  @TempDir Path dir;

  private static X509Certificate[] chain(Path pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem)) {
      return new X509Certificate[] {(X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in)};
    }
  }

  @Test
  void anotherCasCertificate_isUnknownIssuerForBoringSsl_andUnchangedForTheJdk() throws Exception {
    assumeTrue(OpenSsl.isAvailable(), "BoringSSL is not loadable here");
    TestCerts ours = TestCerts.create(dir);
    TestCerts other = TestCerts.create(Files.createDirectories(dir.resolve("other")), "another-ca");
    TestCerts sameName = TestCerts.create(Files.createDirectories(dir.resolve("same-name")));

    CaTrust boring = CaTrust.of(ours.caCert, SslProvider.OPENSSL);
    assertThatCode(() -> boring.checkClientTrusted(chain(ours.clientCert), "RSA")).doesNotThrowAnyException();
    assertThatThrownBy(() -> boring.checkClientTrusted(chain(other.clientCert), "RSA"))
        .isInstanceOfSatisfying(OpenSslCertificateException.class,
            e -> org.assertj.core.api.Assertions.assertThat(e.errorCode()).isEqualTo(20));
    assertThatThrownBy(() -> boring.checkServerTrusted(chain(other.serverCert), "RSA"))
        .isInstanceOf(OpenSslCertificateException.class);
    assertThatThrownBy(() -> boring.checkClientTrusted(chain(sameName.clientCert), "RSA"))
        .as("another CA with our CA's name: its signature does not verify")
        .isInstanceOfSatisfying(OpenSslCertificateException.class,
            e -> org.assertj.core.api.Assertions.assertThat(e.errorCode()).isEqualTo(20));

    CaTrust jdk = CaTrust.of(ours.caCert, SslProvider.JDK);
    assertThatCode(() -> jdk.checkServerTrusted(chain(ours.serverCert), "RSA")).doesNotThrowAnyException();
    assertThatThrownBy(() -> jdk.checkClientTrusted(chain(other.clientCert), "RSA"))
        .isInstanceOf(CertificateException.class).isNotInstanceOf(OpenSslCertificateException.class);
  }

  @Test
  void aCaFileWithoutACertificate_isRefusedNamingIt() throws Exception {
    Path empty = Files.writeString(dir.resolve("empty.pem"), "");
    assertThatThrownBy(() -> CaTrust.of(empty, SslProvider.JDK)).hasMessageContaining("empty.pem");
  }
}
