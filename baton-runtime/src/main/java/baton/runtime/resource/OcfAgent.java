package baton.runtime.resource;

import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * An OCF resource agent by its name, {@code ocf:PROVIDER:TYPE} (e.g. {@code ocf:heartbeat:IPaddr2}),
 * found at {@code OCF_ROOT/resource.d/PROVIDER/TYPE}.
 *
 * @param provider e.g. {@code heartbeat} (the resource-agents package), {@code pacemaker}
 * @param type the agent's file name, e.g. {@code IPaddr2}
 */
public record OcfAgent(String provider, String type) {
    /** One path component: no '/', and never "." or "..", since it names a file under OCF_ROOT. */
    private static final Pattern COMPONENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}");

    public OcfAgent {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(type, "type");
        if (!COMPONENT.matcher(provider).matches() || !COMPONENT.matcher(type).matches()) {
            throw new IllegalArgumentException("not an OCF agent name: ocf:" + provider + ":" + type
                    + " (provider and type: 1 to 64 letters, digits, '_', '.', '+', '-', starting with a letter or digit)");
        }
    }

    /** {@code ocf:heartbeat:Dummy}; the {@code ocf:} class is required, as in Pacemaker's resource definitions. */
    public static OcfAgent parse(String name) {
        String[] parts = name.split(":", -1);
        if (parts.length != 3 || !parts[0].equals("ocf")) {
            throw new IllegalArgumentException("not an OCF agent name: '" + name + "' (expected ocf:PROVIDER:TYPE,"
                    + " e.g. ocf:heartbeat:IPaddr2)");
        }
        return new OcfAgent(parts[1], parts[2]);
    }

    /** Where the agent is under {@code ocfRoot}. */
    public Path path(Path ocfRoot) {
        return ocfRoot.resolve("resource.d").resolve(provider).resolve(type);
    }

    @Override
    public String toString() {
        return "ocf:" + provider + ":" + type;
    }
}
