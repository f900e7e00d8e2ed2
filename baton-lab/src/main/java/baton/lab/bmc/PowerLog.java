package baton.lab.bmc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * When a lab machine's power went off, as evidence for the external checkers: whoever cuts the
 * power (the IPMI machine script, the Redfish server, the lab's own panic) appends
 * {@code t=NANOS event=off} to {@code power.log} in the BMC's folder once every process of the
 * machine is gone, {@code t} being the wall clock in nanoseconds as the owner log's lines have
 * it. So a workload instance that wrote no stop line ran at most until the first power-off of its
 * machine after its last line: nothing of the machine survives that line.
 */
public final class PowerLog {
    public static final String FILE = "power.log";

    private static final Pattern LINE = Pattern.compile("^t=(\\d+) event=off$");

    private PowerLog() {}

    /** Records a power-off now: call only once every process of the machine is gone. */
    public static void append(Path bmcDir) {
        Instant now = Instant.now();
        long nanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
        try {
            Files.writeString(bmcDir.resolve(FILE), "t=" + nanos + " event=off\n", StandardCharsets.US_ASCII,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record the power-off in " + bmcDir.resolve(FILE), e);
        }
    }

    /** The same, as a shell command for a machine script (the folder single-quoted). */
    static String shellAppend(String quotedBmcDir) {
        return "echo \"t=$(date +%s%N) event=off\" >> " + quotedBmcDir + "/" + FILE;
    }

    /** Every recorded power-off, oldest first; none if the machine never went off. */
    public static List<Long> read(Path bmcDir) {
        Path file = bmcDir.resolve(FILE);
        List<Long> offs = new ArrayList<>();
        if (!Files.exists(file)) {
            return offs;
        }
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
                Matcher m = LINE.matcher(line.strip());
                if (m.matches()) {
                    offs.add(Long.parseLong(m.group(1)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        offs.sort(null);
        return offs;
    }
}
