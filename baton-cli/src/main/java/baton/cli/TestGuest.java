package baton.cli;

import baton.lab.Cmd;
import baton.lab.ExecResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The tiny test and demo guest of {@code scripts/build-guest} (a tiny kernel compiled from Debian's Linux source and a busybox
 * initramfs that serves its name, its uptime and a file over HTTP), and the {@code ves:} entry
 * that runs it as a VE. Shared by the demo and the benchmarks.
 */
public final class TestGuest {
    private TestGuest() {}

    /** Where the guest is built and cached (overridden with -Dbaton.guest.dir). */
    public static Path dir() {
        return Path.of(System.getProperty("baton.guest.dir", "/var/cache/baton/guest"));
    }

    /** Builds the guest unless it is up to date (the script decides); returns its folder. Throws with the script's reason. */
    public static Path build() {
        Path script = repoScript("build-guest");
        ExecResult built = Cmd.run(Duration.ofMinutes(40), script.toString(), dir().toString());
        if (!built.ok()) {
            throw new IllegalStateException("scripts/build-guest failed: " + built.describe());
        }
        return dir();
    }

    /** {@code scripts/NAME} of the work tree this runs from (the launcher runs from it). */
    public static Path repoScript(String name) {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isExecutable(d.resolve("scripts").resolve(name))) {
                return d.resolve("scripts").resolve(name);
            }
        }
        throw new IllegalStateException("no scripts/" + name + " above " + Path.of("").toAbsolutePath() + "; run from the work tree");
    }

    /**
     * One {@code ves:} list entry (indented for the top level) for the guest: TCG, one NIC on
     * {@code bridge}, its address {@code ip}/24, serving a {@code fileMib} MiB file.
     *
     * @param extraKeys more keys, each line indented by four spaces (e.g. preferred nodes)
     */
    public static String veYaml(int id, String name, Path guest, int memoryMib, String ip, String mac, String bridge,
                                int fileMib, String extraKeys) {
        return veYaml(id, name, guest, memoryMib, ip, mac, bridge, fileMib, 0, extraKeys);
    }

    /**
     * As {@link #veYaml(int, String, Path, int, String, String, String, int, String)}, with a guest
     * that keeps rewriting {@code dirtyMib} MiB of its RAM ({@code baton.dirty_mib}; 0: none), for
     * live-migration tests. The guest needs {@code fileMib + dirtyMib + 33} MiB free after boot: a
     * 128 MiB VE has about 70 MiB available.
     */
    public static String veYaml(int id, String name, Path guest, int memoryMib, String ip, String mac, String bridge,
                                int fileMib, int dirtyMib, String extraKeys) {
        if (dirtyMib < 0 || dirtyMib > 4096) {
            throw new IllegalArgumentException("dirtyMib " + dirtyMib + " is outside 0..4096 (the guest's limit)");
        }
        String cmdline = "console=ttyS0 panic=1 quiet baton.ip=" + ip + "/24 baton.file_mib=" + fileMib + " baton.name=" + name
                + (dirtyMib > 0 ? " baton.dirty_mib=" + dirtyMib : "");
        return "  - id: " + id + "\n    name: " + name + "\n    memoryMib: " + memoryMib + "\n    kernel: " + guest.resolve("vmlinux")
                + "\n    initrd: " + guest.resolve("initramfs.cpio.gz") + "\n    cmdline: \"" + cmdline + "\"\n    nics: [{mac: \""
                + mac + "\", bridge: " + bridge + "}]\n    accel: tcg\n" + extraKeys;
    }
}
