package baton.lab.owners;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * An {@code exec} service for the workload tests that logs for {@link OwnerCheck}: one control
 * script with {@code start}, {@code stop} and {@code status}, run by Baton as
 * {@code [script, ACTION, LOG, WORKLOAD, STATE_DIR]}. {@code start} runs the logging workload
 * ({@link OwnerCheck#workloadScript}) in its own session, so it outlives the start command, and
 * keeps its pid in STATE_DIR per node ({@code BATON_NODE}, which Baton sets); {@code stop}
 * terminates it (SIGTERM, then SIGKILL after 5 s) and waits until it is gone; {@code status}
 * answers with the LSB codes (0 running, 3 stopped).
 */
public final class OwnedService {
    private OwnedService() {}

    /** Writes the two scripts into {@code dir}; returns the control script. */
    public static Path write(Path dir, long periodMillis) throws IOException {
        Files.createDirectories(dir);
        Path workload = dir.resolve("owned-workload");
        Files.writeString(workload, OwnerCheck.workloadScript(periodMillis));
        Path control = dir.resolve("owned-service");
        Files.writeString(control, """
                #!/bin/sh
                # Control script of a test service for baton.lab.owners.OwnerCheck: start|stop|status LOG WORKLOAD STATE_DIR
                action=$1 log=$2 workload=$3 state=$4
                node=${BATON_NODE:?BATON_NODE is not set}
                pidf="$state/$workload-$node.pid"
                alive() { [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; }
                case "$action" in
                start)
                    alive && exit 0
                    mkdir -p "$state"
                    setsid %s "$log" "$workload" "$node" 0 </dev/null >/dev/null 2>&1 &
                    echo $! > "$pidf"
                    exit 0 ;;
                stop)
                    if [ -f "$pidf" ]; then
                        p=$(cat "$pidf")
                        kill -TERM "$p" 2>/dev/null
                        i=0
                        while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
                        kill -KILL "$p" 2>/dev/null
                        while kill -0 "$p" 2>/dev/null; do sleep 0.02; done
                        rm -f "$pidf"
                    fi
                    exit 0 ;;
                status)
                    alive && exit 0
                    exit 3 ;;
                *)
                    echo "usage: $0 start|stop|status LOG WORKLOAD STATE_DIR" >&2
                    exit 2 ;;
                esac
                """.formatted(workload));
        for (Path p : new Path[] {workload, control}) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return control;
    }

    /** The {@code services:} YAML entry for one such service (indented for the top level). */
    public static String yaml(int id, String name, Path control, Path log, Path stateDir, String extraKeys) {
        String args = log + ", " + name + ", " + stateDir;
        return """
                  - id: %d
                    name: %s
                %s    resources:
                      - name: %s-main
                        exec:
                          start: [%s, start, %s]
                          stop: [%s, stop, %s]
                          status: [%s, status, %s]
                        monitorIntervalMillis: 500
                """.formatted(id, name, extraKeys, name, control, args, control, args, control, args);
    }
}
