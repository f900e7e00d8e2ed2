package baton.runtime.api;

import baton.runtime.config.ApiConfig;
import baton.runtime.config.NodeConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The API's TLS: the configured certificate and key (PEM), or a self-signed certificate the
 * node generates on its first start (EC P-256, ten years, the node's addresses, its name and
 * {@code localhost} as subject alternative names) and keeps beside the cluster key, so it is
 * the same across restarts and {@code baton} on the node can pin it.
 */
public final class ApiTls {
    static final Duration GENERATED_VALIDITY = Duration.ofDays(3650);

    private ApiTls() {}

    /** The server's context for {@code node}; generates its certificate first when none is configured or kept. */
    public static SSLContext serverContext(ApiConfig api, NodeConfig node) throws IOException, GeneralSecurityException {
        Path cert = api.certificateOf(node.name());
        Path key = api.privateKeyOf(node.name());
        if (api.certificate().isEmpty() && !Files.exists(cert)) {
            generate(node, cert, key);
        }
        List<X509Certificate> chain = readCertificates(cert);
        PrivateKey privateKey = readPrivateKey(key);
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        char[] password = new char[0];
        store.setKeyEntry("api", privateKey, password, chain.toArray(new Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, password);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), null, new SecureRandom());
        return context;
    }

    /** A client's context that trusts exactly the certificates in {@code pem} (a node's served certificate, or a CA). */
    public static SSLContext clientContext(Path pem) throws IOException, GeneralSecurityException {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        int i = 0;
        for (X509Certificate c : readCertificates(pem)) {
            trust.setCertificateEntry("trusted-" + i++, c);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), new SecureRandom());
        return context;
    }

    static void generate(NodeConfig node, Path certFile, Path keyFile) throws IOException, GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair pair = generator.generateKeyPair();
        X500Name subject = new X500Name("CN=" + node.name() + ",O=Baton");
        Instant now = Instant.now();
        List<GeneralName> names = new ArrayList<>();
        names.add(new GeneralName(GeneralName.dNSName, node.name()));
        names.add(new GeneralName(GeneralName.dNSName, "localhost"));
        names.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
        for (InetAddress a : node.addresses()) {
            names.add(new GeneralName(GeneralName.iPAddress, a.getHostAddress()));
        }
        try {
            var builder = new JcaX509v3CertificateBuilder(subject, new BigInteger(64, new SecureRandom()),
                    Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(GENERATED_VALIDITY)), subject, pair.getPublic());
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(new GeneralName[0])));
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            X509Certificate cert = new JcaX509CertificateConverter()
                    .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
            Files.createDirectories(keyFile.getParent());
            Path tmpKey = keyFile.resolveSibling("." + keyFile.getFileName() + ".tmp");
            Files.deleteIfExists(tmpKey);
            Files.createFile(tmpKey, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            // PKCS#8 ("PRIVATE KEY"), which every TLS server reads; keeps the public key recoverable.
            Files.writeString(tmpKey, "-----BEGIN PRIVATE KEY-----\n"
                    + java.util.Base64.getMimeEncoder(64, "\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
                    .encodeToString(pair.getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n");
            Files.move(tmpKey, keyFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            // The certificate last: its presence says the pair is complete.
            baton.runtime.node.RunDir.replace(certFile, pem(cert));
        } catch (org.bouncycastle.operator.OperatorCreationException | org.bouncycastle.cert.CertIOException e) {
            throw new GeneralSecurityException("could not build the API certificate: " + e.getMessage(), e);
        }
    }

    private static String pem(Object o) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(o);
        }
        return out.toString();
    }

    static List<X509Certificate> readCertificates(Path pem) throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(pem)) {
            Collection<? extends Certificate> all = CertificateFactory.getInstance("X.509").generateCertificates(in);
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : all) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new GeneralSecurityException(pem + " holds no PEM certificate");
            }
            return out;
        }
    }

    static PrivateKey readPrivateKey(Path pem) throws IOException, GeneralSecurityException {
        try (PEMParser parser = new PEMParser(Files.newBufferedReader(pem))) {
            Object o = parser.readObject();
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            return switch (o) {
                case PrivateKeyInfo info -> converter.getPrivateKey(info);
                case PEMKeyPair pair -> converter.getKeyPair(pair).getPrivate();
                case null, default -> throw new GeneralSecurityException(pem + " holds no unencrypted PEM private key"
                        + " (PKCS#8 'PRIVATE KEY' or 'EC/RSA PRIVATE KEY')");
            };
        }
    }
}
