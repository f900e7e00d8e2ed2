package baton.cli;

import baton.core.disk.ClusterKey;
import baton.core.disk.Copy;
import baton.core.disk.DiskHeader;
import baton.core.disk.HeaderRead;
import baton.core.disk.Slot;
import baton.core.disk.SlotCodec;
import baton.core.disk.SlotRead;
import baton.core.disk.DiskLayout;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.disk.DiskRefusedException;
import baton.runtime.disk.DiskSnapshot;
import baton.runtime.disk.QuorumDisk;
import baton.runtime.node.ExitStatus;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "disk", mixinStandardHelpOptions = true, description = "Initialise and examine the quorum disk.",
        subcommands = {DiskCommand.Init.class, DiskCommand.Inspect.class, DiskCommand.Check.class})
final class DiskCommand {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Command(name = "init", mixinStandardHelpOptions = true,
            description = {"Write a new, empty quorum disk (both copies) for the configured cluster.",
                    "Refuses to overwrite a disk that holds anything but zeros unless --force."})
    static final class Init implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Option(names = "--force", description = "Overwrite whatever the disk holds. Stop every node of that disk first.")
        boolean force;

        @Override
        public Integer call() {
            ClusterConfig cfg = config.load();
            ClusterKey key = ConfigOption.key(cfg);
            try {
                DiskHeader h = QuorumDisk.init(cfg.quorumDisk(), cfg.clusterName(), key, force, System.currentTimeMillis());
                System.out.println("initialised quorum disk of cluster '" + h.clusterName() + "' (id " + h.clusterId()
                        + ", " + h.slotCount() + " slots, format v" + h.formatVersion() + ")");
                for (Copy c : Copy.values()) {
                    QuorumDisk.Location l = QuorumDisk.location(cfg.quorumDisk(), c);
                    System.out.println("  " + c.label() + ": " + l.path() + " at offset " + l.regionOffset());
                }
                return ExitStatus.OK;
            } catch (DiskRefusedException e) {
                throw new CliFailure(ExitStatus.DISK_REFUSED, e.getMessage());
            } catch (IOException e) {
                throw new CliFailure(ExitStatus.FAILURE, "cannot initialise the quorum disk: " + e);
            }
        }
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true,
            description = "Show the header and every slot of both copies, with checksum/MAC verdicts and ages.")
    static final class Inspect implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Option(names = "--json", description = "Machine-readable output.")
        boolean json;

        @Option(names = "--all", description = "Also show empty slots of unconfigured node ids.")
        boolean all;

        @Override
        public Integer call() throws IOException {
            ClusterConfig cfg = config.load();
            ClusterKey key = ConfigOption.key(cfg);
            try (QuorumDisk disk = open(cfg)) {
                DiskHeader header = anyHeader(disk);
                SlotCodec codec = new SlotCodec(header == null ? new java.util.UUID(0, 0) : header.clusterId(), key);
                DiskSnapshot snap = DiskSnapshot.take(disk, codec, DiskLayout.MAX_NODES);
                long now = System.currentTimeMillis();
                if (json) {
                    System.out.println(JSON.writeValueAsString(baton.runtime.disk.DiskJson.inspect(cfg, snap, now)));
                    return ExitStatus.OK;
                }
                System.out.print(inspectText(cfg, snap, now, all));
                return ExitStatus.OK;
            }
        }
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = {"Check both copies: headers, every slot's checksum and MAC, agreement of the copies.",
                    "Exit status 0 when all is well, 1 when problems were found (each is listed)."})
    static final class Check implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Option(names = "--json", description = "Machine-readable output: {ok, refused, problems}.")
        boolean json;

        @Override
        public Integer call() {
            ClusterConfig cfg = config.load();
            ClusterKey key = ConfigOption.key(cfg);
            List<String> problems = new ArrayList<>();
            try (QuorumDisk disk = open(cfg)) {
                DiskHeader header;
                try {
                    QuorumDisk.Verified v = disk.verify(cfg.clusterName(), key, false);
                    header = v.header();
                    problems.addAll(v.notes());
                } catch (DiskRefusedException e) {
                    System.out.println(json ? checkJson(false, e.getMessage(), List.of()) : "refused: " + e.getMessage());
                    return ExitStatus.DISK_REFUSED;
                }
                DiskSnapshot snap = DiskSnapshot.take(disk, new SlotCodec(header.clusterId(), key), DiskLayout.MAX_NODES);
                for (DiskSnapshot.SlotPair p : snap.slots()) {
                    String who = cfg.node(p.nodeId()).map(NodeConfig::name).orElse("unconfigured node id " + p.nodeId());
                    switch (p.reconciled().verdict()) {
                        case AGREE, PRIMARY_NEWER, SHADOW_NEWER, BOTH_EMPTY -> { }
                        case REPAIR_PRIMARY, REPAIR_SHADOW -> problems.add("slot of " + who + ": the " + p.reconciled().repairTarget().label()
                                + " copy is " + (p.reconciled().repairTarget() == Copy.PRIMARY ? p.primary() : p.shadow()).describe()
                                + " (a running node repairs it from the " + p.reconciled().source().label() + " within one interval)");
                        case ONE_COPY_READABLE -> problems.add("slot of " + who + ": only the " + p.reconciled().source().label() + " copy is readable");
                        case BOTH_BAD -> problems.add("slot of " + who + ": no valid copy (primary " + p.primary().describe()
                                + "; shadow " + p.shadow().describe() + "): its disk liveness is unknown");
                    }
                }
            }
            if (json) {
                System.out.println(checkJson(problems.isEmpty(), null, problems));
            } else if (problems.isEmpty()) {
                System.out.println("ok: both copies valid and consistent (cluster '" + cfg.clusterName() + "')");
            } else {
                problems.forEach(p -> System.out.println("problem: " + p));
            }
            return problems.isEmpty() ? ExitStatus.OK : ExitStatus.FAILURE;
        }

        private static String checkJson(boolean ok, String refused, List<String> problems) {
            ObjectNode o = JSON.createObjectNode();
            o.put("ok", ok);
            if (refused != null) {
                o.put("refused", refused);
            }
            problems.forEach(o.putArray("problems")::add);
            return o.toString();
        }
    }

    static QuorumDisk open(ClusterConfig cfg) {
        return open(cfg, false);
    }

    static QuorumDisk open(ClusterConfig cfg, boolean writable) {
        try {
            return QuorumDisk.open(cfg.quorumDisk(), writable);
        } catch (DiskRefusedException e) {
            throw new CliFailure(ExitStatus.FAILURE, e.getMessage());
        }
    }

    static DiskHeader anyHeader(QuorumDisk disk) {
        for (Copy c : Copy.values()) {
            if (disk.readHeader(c) instanceof HeaderRead.Valid v) {
                return v.header();
            }
        }
        return null;
    }

    static String inspectText(ClusterConfig cfg, DiskSnapshot snap, long nowMillis, boolean all) {
        StringBuilder b = new StringBuilder();
        Table copies = new Table("COPY", "LOCATION", "HEADER");
        for (Copy c : Copy.values()) {
            QuorumDisk.Location l = QuorumDisk.location(cfg.quorumDisk(), c);
            HeaderRead h = snap.header(c);
            String desc = h instanceof HeaderRead.Valid v
                    ? "valid: cluster '" + v.header().clusterName() + "' id " + v.header().clusterId() + ", format v"
                    + v.header().formatVersion() + ", " + v.header().slotCount() + " slots, created "
                    + Instant.ofEpochMilli(v.header().createdEpochMillis())
                    : h.describe();
            copies.row(c.label(), l.path() + " @" + l.regionOffset(), desc);
        }
        b.append(copies).append('\n');
        Table slots = new Table("NODE", "ID", "COPY", "VERDICT", "INCARNATION", "COUNTER", "STATE", "WRITTEN", "RECONCILED");
        for (DiskSnapshot.SlotPair p : snap.slots()) {
            boolean configured = cfg.node(p.nodeId()).isPresent();
            boolean empty = p.primary() instanceof SlotRead.Empty && p.shadow() instanceof SlotRead.Empty;
            if (!configured && empty && !all) {
                continue;
            }
            String name = cfg.node(p.nodeId()).map(NodeConfig::name).orElse("-");
            for (Copy c : Copy.values()) {
                SlotRead r = c == Copy.PRIMARY ? p.primary() : p.shadow();
                Slot s = r instanceof SlotRead.Valid v ? v.slot() : null;
                slots.row(c == Copy.PRIMARY ? name : "", c == Copy.PRIMARY ? p.nodeId() : "", c.label(), r.describe(),
                        s == null ? null : s.incarnation(), s == null ? null : Long.toUnsignedString(s.counter()),
                        s == null ? null : s.state().label() + (s.degraded() ? ",degraded" : ""),
                        s == null ? null : age(nowMillis - s.wallEpochMillis()),
                        c == Copy.PRIMARY ? p.reconciled().verdict().name().toLowerCase(java.util.Locale.ROOT) : "");
            }
        }
        b.append(slots);
        b.append("\nWRITTEN is the writer's wall clock as seen from this host; liveness never compares clocks (see 'baton status').\n");
        return b.toString();
    }

    static String age(long millis) {
        if (Math.abs(millis) < 10_000) {
            return String.format("%.1f s ago", millis / 1000.0);
        }
        return (millis / 1000) + " s ago";
    }
}
