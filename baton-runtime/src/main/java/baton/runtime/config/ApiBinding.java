package baton.runtime.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Binds the {@code api:} section (docs/api.md); every key is optional. */
final class ApiBinding {
    private ApiBinding() {}

    static final List<String> KEYS = List.of("enabled", "port", "certificate", "privateKey", "tlsDir");
    private static final String EXAMPLE = "api: {port: 7480, certificate: /etc/baton/api.crt, privateKey: /etc/baton/api.key}";

    static Optional<ApiConfig> bind(YamlNode value, String path, int line, Path folder, Path keyFile, Problems problems) {
        Optional<Section> section = Section.of(value, path, line, problems, KEYS, EXAMPLE);
        if (section.isEmpty()) {
            return Optional.empty();
        }
        Section s = section.get();
        ApiConfig d = ApiConfig.defaults(keyFile);
        int before = problems.count();
        boolean enabled = WorkloadsBinding.flag(s, "enabled", d.enabled(), problems);
        long port = FenceBinding.millis(s, "port", d.port(), 1, 65535, problems);
        Optional<Path> certificate = s.optional("certificate")
                .flatMap(v -> Scalars.path(v, s.path("certificate"), folder, problems, "certificate: /etc/baton/api.crt"));
        Optional<Path> privateKey = s.optional("privateKey")
                .flatMap(v -> Scalars.path(v, s.path("privateKey"), folder, problems, "privateKey: /etc/baton/api.key"));
        Path tlsDir = s.optional("tlsDir")
                .flatMap(v -> Scalars.path(v, s.path("tlsDir"), folder, problems, "tlsDir: /var/lib/baton/api"))
                .orElse(d.tlsDir());
        if (problems.count() == before && certificate.isPresent() != privateKey.isPresent()) {
            String missing = certificate.isPresent() ? "privateKey" : "certificate";
            problems.add(s.line(), s.path(missing), "certificate and privateKey go together",
                    "add '" + missing + ": FILE' (PEM), or remove both to have each node generate its own certificate");
        }
        return problems.count() == before
                ? Optional.of(new ApiConfig(enabled, (int) port, certificate, privateKey, tlsDir))
                : Optional.empty();
    }
}
