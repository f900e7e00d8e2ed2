package baton.lab.bmc;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * A Redfish BMC for one lab machine, run as its own JVM inside the node host's network namespace
 * by {@link RedfishBmc}: HTTPS on the host's lab address with a self-signed certificate it
 * generates at start, HTTP Basic authentication, and exactly the part of Redfish (DMTF DSP0266,
 * schema ComputerSystem) that ClusterLabs' {@code fence_redfish} uses:
 *
 * <pre>
 * GET  /redfish                                              {"v1": "/redfish/v1/"}             no authentication
 * GET  /redfish/v1                                           ServiceRoot, Systems link          no authentication
 * GET  /redfish/v1/Systems                                   ComputerSystemCollection, 1 member
 * GET  /redfish/v1/Systems/1                                 ComputerSystem: PowerState On|Off, Actions
 * POST /redfish/v1/Systems/1/Actions/ComputerSystem.Reset    {"ResetType": On|ForceOff|GracefulShutdown|ForceRestart} → 204
 * </pre>
 *
 * Trailing slashes are ignored. Errors are Redfish error objects with a Base registry message:
 * 401 (and {@code WWW-Authenticate: Basic}) for missing or wrong credentials on anything but the
 * two roots, which the standard requires to be open; 404 for unknown paths; 405 for a wrong
 * method on a known path; 400 for a body that is not a JSON object of strings, a missing or
 * unknown parameter, or a ResetType outside the allowed values (e.g. fence_redfish's
 * {@code diag}, {@code Nmi}); 500 if the machine outlives power off.
 *
 * <p><b>Power.</b> On runs the machine, ForceOff cuts it (SIGKILL, as a power cut),
 * GracefulShutdown ends it (see {@link MachinePower}: SIGTERM,
 * SIGKILL {@link MachinePower#KILL_WAIT} later) and answers only once it is gone, so the next
 * GET already reports Off. GracefulShutdown is the same as ForceOff: a lab machine has no
 * operating system to ask, and ending it promptly is what a fence agent wants. ForceRestart is
 * ForceOff then On; fence_redfish sends it for {@code method=cycle}, its default reboot being Off
 * then On. On while on and off while off do nothing and succeed, as real BMCs do.
 *
 * <p><b>One request at a time.</b> All requests run on one thread, which alone owns the
 * machine's power, so a status never sees half an off. A request line and headers must arrive
 * within {@link #MAX_REQUEST_SECONDS}: a client that connects and says nothing cannot hold the
 * BMC for long.
 *
 * <p>Usage: {@code RedfishServer DIR ADDRESS PORT USER}. The password is read from
 * {@code DIR/password} (mode 0600), never from the command line; {@code DIR/machine.sh} is the
 * machine; the key and certificate go to {@code DIR/bmc.p12}. It powers the machine on, prints
 * {@value #READY} and serves until killed. Killing it leaves the machine running, as a failed BMC
 * leaves its server running.
 */
public final class RedfishServer {
    static final String ROOT = "/redfish/v1";
    static final String SYSTEMS = ROOT + "/Systems";
    static final String SYSTEM = SYSTEMS + "/1";
    static final String RESET = SYSTEM + "/Actions/ComputerSystem.Reset";

    /** The line the server prints once it accepts connections. */
    static final String READY = "redfish-bmc ready";

    static final String KEYSTORE = "bmc.p12";
    static final String PASSWORD_FILE = "password";

    static final List<String> RESET_TYPES = List.of("On", "ForceOff", "GracefulShutdown", "ForceRestart");

    /** Seconds a client has to send its request once connected (the JDK server's sun.net.httpserver.maxReqTime). */
    static final int MAX_REQUEST_SECONDS = 10;

    /** keytool generates an EC key in well under a second; this bounds a JVM start on a loaded machine. */
    static final Duration KEYTOOL_TIMEOUT = Duration.ofSeconds(30);

    private static final String BASE = "Base.1.8.";

    private final String user;
    private final byte[] password;
    private final String uuid = UUID.randomUUID().toString();
    private final MachinePower power;

    private RedfishServer(Path dir, String user, byte[] password) {
        this.user = user;
        this.password = password;
        this.power = new MachinePower(dir);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: RedfishServer DIR ADDRESS PORT USER (the password is read from DIR/password)");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        InetAddress address = InetAddress.getByName(args[1]);
        int port = Integer.parseInt(args[2]);
        String user = args[3];
        byte[] password = Files.readString(dir.resolve(PASSWORD_FILE), StandardCharsets.UTF_8).strip().getBytes(StandardCharsets.UTF_8);
        if (password.length == 0) {
            throw new IllegalArgumentException(dir.resolve(PASSWORD_FILE) + " is empty");
        }
        // Read once, when the JDK's server classes load: set before the first one does.
        System.setProperty("sun.net.httpserver.maxReqTime", Integer.toString(MAX_REQUEST_SECONDS));

        SSLContext tls = tlsContext(dir, address);
        RedfishServer bmc = new RedfishServer(dir, user, password);
        HttpsServer server = HttpsServer.create(new InetSocketAddress(address, port), 16);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.setExecutor(Executors.newSingleThreadExecutor(r -> new Thread(r, "redfish")));
        server.createContext("/", bmc::serve);
        // Power on before serving; from then on only the request thread touches the power.
        bmc.power.on();
        log("power on at start: machine pid " + bmc.power.pid());
        server.start();
        log(READY + " on https://" + address.getHostAddress() + ":" + port + ROOT + ", system " + SYSTEM + ", user " + user);
    }

    /** One request, on the request thread. Any exception it throws becomes a 500 that names it. */
    private void serve(HttpExchange x) throws IOException {
        try (x) {
            String method = x.getRequestMethod();
            String path = x.getRequestURI().getPath();
            if (path.length() > 1 && path.endsWith("/")) {
                path = path.substring(0, path.length() - 1);
            }
            byte[] body = readBody(x);
            Reply reply;
            try {
                reply = route(method, path, body, x.getRequestHeaders().getFirst("Authorization"));
            } catch (RuntimeException e) {
                reply = error(500, "InternalError", "The request failed: " + e);
            }
            log(method + " " + path + " from " + x.getRemoteAddress().getAddress().getHostAddress() + " -> " + reply.status()
                    + (reply.note().isEmpty() ? "" : " (" + reply.note() + ")"));
            x.getResponseHeaders().set("OData-Version", "4.0");
            if (reply.status() == 401) {
                x.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"baton-lab-bmc\"");
            }
            if (reply.status() == 405) {
                x.getResponseHeaders().set("Allow", path.equals(RESET) ? "POST" : "GET");
            }
            if (reply.json() == null) {
                x.sendResponseHeaders(reply.status(), -1);
                return;
            }
            byte[] out = reply.json().getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
            x.sendResponseHeaders(reply.status(), out.length);
            x.getResponseBody().write(out);
        }
    }

    /** What to answer; {@code note} is for the log only. */
    private record Reply(int status, String json, String note) {}

    private Reply route(String method, String path, byte[] body, String authorization) {
        boolean open = path.equals("/redfish") || path.equals(ROOT);
        if (!open && !authorized(authorization)) {
            return error(401, "AccessDenied", "Missing or wrong user name or password (HTTP Basic authentication).");
        }
        boolean known = open || path.equals(SYSTEMS) || path.equals(SYSTEM) || path.equals(RESET);
        if (!known) {
            return error(404, "ResourceMissingAtURI", "The resource at the URI " + path + " was not found.");
        }
        String allowed = path.equals(RESET) ? "POST" : "GET";
        if (!method.equals(allowed)) {
            return error(405, "GeneralError", method + " is not allowed on " + path + "; use " + allowed + ".");
        }
        return switch (path) {
            case "/redfish" -> ok("{\"v1\": \"/redfish/v1/\"}");
            case ROOT -> ok(serviceRoot());
            case SYSTEMS -> ok(systems());
            case SYSTEM -> ok(system());
            case RESET -> reset(body);
            default -> throw new IllegalStateException("unrouted known path " + path);
        };
    }

    private Reply reset(byte[] body) {
        if (body.length > RedfishJson.MAX_BODY_BYTES) {
            return error(400, "MalformedJSON", "The request body is longer than " + RedfishJson.MAX_BODY_BYTES + " bytes.");
        }
        Map<String, String> parameters;
        try {
            parameters = RedfishJson.parseStringMembers(new String(body, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            return error(400, "MalformedJSON", "The request body is not a JSON object of strings: " + e.getMessage());
        }
        for (String name : parameters.keySet()) {
            if (!name.equals("ResetType")) {
                return error(400, "ActionParameterNotSupported", "The parameter " + name + " is not supported by ComputerSystem.Reset.");
            }
        }
        String type = parameters.get("ResetType");
        if (type == null) {
            return error(400, "ActionParameterMissing", "ComputerSystem.Reset requires the parameter ResetType.");
        }
        String note = switch (type) {
            case "On" -> power.on() ? "on: machine pid " + power.pid() : "on already";
            case "ForceOff" -> "off: " + power.off(true);
            case "GracefulShutdown" -> "off: " + power.off(false);
            case "ForceRestart" -> {
                String off = power.off(true);
                power.on();
                yield "restart: " + off + ", machine pid " + power.pid();
            }
            default -> null;
        };
        if (note == null) {
            return error(400, "ActionParameterValueNotInList", "The value " + type + " for ResetType is not in the list of acceptable values "
                    + RESET_TYPES + ".");
        }
        return new Reply(204, null, type + " " + note);
    }

    private String serviceRoot() {
        return """
                {"@odata.type": "#ServiceRoot.v1_5_0.ServiceRoot", "@odata.id": "/redfish/v1", "Id": "RootService",
                 "Name": "Baton lab BMC", "RedfishVersion": "1.6.0", "UUID": %s,
                 "Systems": {"@odata.id": %s}}
                """.formatted(RedfishJson.quote(uuid), RedfishJson.quote(SYSTEMS));
    }

    private String systems() {
        return """
                {"@odata.type": "#ComputerSystemCollection.ComputerSystemCollection", "@odata.id": %s,
                 "Name": "Computer System Collection", "Members@odata.count": 1, "Members": [{"@odata.id": %s}]}
                """.formatted(RedfishJson.quote(SYSTEMS), RedfishJson.quote(SYSTEM));
    }

    private String system() {
        StringBuilder allowed = new StringBuilder();
        for (String t : RESET_TYPES) {
            allowed.append(allowed.isEmpty() ? "" : ", ").append(RedfishJson.quote(t));
        }
        return """
                {"@odata.type": "#ComputerSystem.v1_10_0.ComputerSystem", "@odata.id": %s, "Id": "1",
                 "Name": "Baton lab machine", "SystemType": "Physical", "PowerState": %s,
                 "Actions": {"#ComputerSystem.Reset": {"target": %s, "ResetType@Redfish.AllowableValues": [%s]}}}
                """.formatted(RedfishJson.quote(SYSTEM), RedfishJson.quote(power.isOn() ? "On" : "Off"), RedfishJson.quote(RESET), allowed);
    }

    private static Reply ok(String json) {
        return new Reply(200, json, "");
    }

    /** A Redfish error object (DSP0266 "Error responses") with one message from the Base registry. */
    private static Reply error(int status, String messageId, String message) {
        String json = """
                {"error": {"code": %s, "message": %s,
                 "@Message.ExtendedInfo": [{"MessageId": %s, "Message": %s, "Severity": "Critical"}]}}
                """.formatted(RedfishJson.quote(BASE + (status == 500 ? "InternalError" : "GeneralError")), RedfishJson.quote(message),
                RedfishJson.quote(BASE + messageId), RedfishJson.quote(message));
        return new Reply(status, json, message);
    }

    /** HTTP Basic (RFC 7617) against the one user, comparing in constant time. */
    private boolean authorized(String header) {
        if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
            return false;
        }
        byte[] decoded;
        try {
            decoded = Base64.getDecoder().decode(header.substring(6).strip());
        } catch (IllegalArgumentException e) {
            return false;
        }
        String pair = new String(decoded, StandardCharsets.UTF_8);
        int colon = pair.indexOf(':');
        if (colon < 0) {
            return false;
        }
        boolean userOk = MessageDigest.isEqual(pair.substring(0, colon).getBytes(StandardCharsets.UTF_8), user.getBytes(StandardCharsets.UTF_8));
        boolean passwordOk = MessageDigest.isEqual(pair.substring(colon + 1).getBytes(StandardCharsets.UTF_8), password);
        return userOk & passwordOk;
    }

    /** The request body, up to one byte more than an action body may have (enough to refuse it). */
    private static byte[] readBody(HttpExchange x) throws IOException {
        try (InputStream in = x.getRequestBody()) {
            return in.readNBytes(RedfishJson.MAX_BODY_BYTES + 1);
        }
    }

    /**
     * A fresh self-signed EC P-256 certificate for {@code address}, made by this JDK's keytool
     * into {@code dir/bmc.p12} (mode 0600) under a random store password that only this process
     * and keytool (through its environment) ever see.
     */
    private static SSLContext tlsContext(Path dir, InetAddress address) throws IOException, GeneralSecurityException, InterruptedException {
        byte[] random = new byte[18];
        new SecureRandom().nextBytes(random);
        char[] storePassword = Base64.getUrlEncoder().withoutPadding().encodeToString(random).toCharArray();
        Path store = dir.resolve(KEYSTORE);
        Files.deleteIfExists(store);
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        ProcessBuilder pb = new ProcessBuilder(keytool.toString(), "-J-Xmx32m", "-J-XX:+UseSerialGC", "-J-XX:TieredStopAtLevel=1",
                "-genkeypair", "-alias", "bmc", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=baton-lab-bmc", "-ext", "san=ip:" + address.getHostAddress(), "-validity", "30",
                "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass:env", "BATON_BMC_STORE_PASS")
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("BATON_BMC_STORE_PASS", new String(storePassword));
        Process p = pb.start();
        if (!p.waitFor(KEYTOOL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("keytool did not finish within " + KEYTOOL_TIMEOUT);
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException("keytool exited " + p.exitValue() + " (its output is above)");
        }
        Files.setPosixFilePermissions(store, PosixFilePermissions.fromString("rw-------"));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, storePassword);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, storePassword);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), null, null);
        return tls;
    }

    private static void log(String line) {
        System.out.println(Instant.now() + " " + line);
    }
}
