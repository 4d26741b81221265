package io.distcache.server;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Test certificates made at test time with openssl (never committed): a CA, a server certificate
 * for 127.0.0.1 and localhost, a client certificate, and the JDK SSLContexts that use them.
 */
public final class TestCerts {
  public final Path dir;
  public final Path caCert;
  public final Path serverCert;
  public final Path serverKey;
  public final Path clientCert;
  public final Path clientKey;
  public final Path clientP12;

  private TestCerts(Path dir) {
    this.dir = dir;
    this.caCert = dir.resolve("ca.crt");
    this.serverCert = dir.resolve("server.crt");
    this.serverKey = dir.resolve("server.key");
    this.clientCert = dir.resolve("client.crt");
    this.clientKey = dir.resolve("client.key");
    this.clientP12 = dir.resolve("client.p12");
  }

  /** Makes a CA, a server and a client certificate in {@code dir}; skips the test without openssl. */
  public static TestCerts create(Path dir) throws Exception {
    return create(dir, "distcache-test-ca");
  }

  /** As {@link #create(Path)}, with the CA's common name. */
  public static TestCerts create(Path dir, String caName) throws Exception {
    assumeTrue(hasOpenssl(), "openssl is not installed");
    TestCerts c = new TestCerts(dir);
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=" + caName);
    c.issueServer("server1");
    openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=client1");
    openssl(dir, "x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "client.crt", "-days", "2");
    openssl(dir, "pkcs12", "-export", "-in", "client.crt", "-inkey", "client.key", "-out", "client.p12",
        "-passout", "pass:changeit");
    return c;
  }

  /** (Re)issues the server certificate with common name {@code cn}, into new files moved over the old. */
  public void issueServer(String cn) throws Exception {
    Files.writeString(dir.resolve("ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key.new", "-out", "server.csr", "-subj", "/CN=" + cn);
    openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt.new", "-days", "2", "-extfile", "ext");
    Files.move(dir.resolve("server.key.new"), serverKey, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.move(dir.resolve("server.crt.new"), serverCert, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  /** A client context trusting the test CA, with the client certificate when {@code withCert}. */
  public SSLContext clientContext(boolean withCert) throws Exception {
    return clientContext(withCert, caCert);
  }

  /** A client context trusting the CA in {@code trusted} (another set's, say), with this set's client certificate when {@code withCert}. */
  public SSLContext clientContext(boolean withCert, Path trusted) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(trusted)) {
      trust.setCertificateEntry("ca", (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    KeyManagerFactory kmf = null;
    if (withCert) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(clientP12)) {
        ks.load(in, "changeit".toCharArray());
      }
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, "changeit".toCharArray());
    }
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return ctx;
  }

  static boolean hasOpenssl() {
    try {
      return new ProcessBuilder("openssl", "version").start().waitFor() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  private static void openssl(Path dir, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed: " + new String(out));
    }
  }
}
