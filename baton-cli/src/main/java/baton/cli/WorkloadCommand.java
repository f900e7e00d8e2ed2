package baton.cli;

import baton.core.fence.FenceRecordCodec;
import baton.core.fence.OperatorRequest;
import baton.core.workload.OperatorAnswer;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.config.WorkloadConfig;
import baton.runtime.fence.FenceBlocks;
import baton.runtime.node.ExitStatus;
import baton.runtime.workload.WorkloadBlocks;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code baton ve ...} and {@code baton service ...}: operators' requests about one workload, and
 * {@code baton node standby|unstandby}. Each goes to the coordinator through the quorum disk
 * (this node's request block) and waits for the coordinator's answer (this node's answer
 * sector): done, with the owner record it wrote, or refused, with why.
 */
final class WorkloadCommand {
    private WorkloadCommand() {}

    @Command(name = "ve", mixinStandardHelpOptions = true,
            description = {"Start, stop, restart, relocate, migrate, freeze or unfreeze a VE (a QEMU virtual machine).",
                    "The request goes to the coordinator through the quorum disk; the command waits for its answer."},
            subcommands = {Start.class, Stop.class, Restart.class, Relocate.class, Freeze.class, Unfreeze.class,
                    MigrateCommand.Migrate.class})
    static final class Ve {}

    @Command(name = "service", mixinStandardHelpOptions = true,
            description = {"Start, stop, restart, relocate, freeze or unfreeze a service (an ordered group of resources).",
                    "The request goes to the coordinator through the quorum disk; the command waits for its answer."},
            subcommands = {Start.class, Stop.class, Restart.class, Relocate.class, Freeze.class, Unfreeze.class})
    static final class Service {}

    /** The options and the sending shared by every workload action. */
    abstract static class Action implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ConfigOption config;

        @Parameters(paramLabel = "NAME", description = "The workload, by its name in the configuration.")
        String name;

        @Mixin
        FenceCommand.Requester requester;

        abstract OperatorRequest.Kind kind();

        /** The node it should go to, or null for any. */
        String to() {
            return null;
        }

        @Override
        public Integer call() throws Exception {
            ClusterConfig cfg = config.load();
            WorkloadConfig.Kind kind = spec.parent().name().equals("ve") ? WorkloadConfig.Kind.VE : WorkloadConfig.Kind.SERVICE;
            WorkloadConfig w = cfg.workload(name).filter(x -> x.kind() == kind).orElseThrow(() -> new CliFailure(ExitStatus.USAGE,
                    "no " + kind.label() + " named '" + name + "' in " + cfg.file() + "; the " + kind.label() + "s are "
                            + String.join(", ", cfg.workloads().stream().filter(x -> x.kind() == kind).map(WorkloadConfig::name).toList())));
            int target = to() == null ? 0 : FenceCommand.node(cfg, to()).id();
            return send(cfg, requester, kind(), w.id(), target, kind.label() + " " + w.name());
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = "Run it (again): on --to NODE, or where placement puts it.")
    static final class Start extends Action {
        @Option(names = "--to", paramLabel = "NODE", description = "The node to start it on (it must be eligible).")
        String toNode;

        @Override
        OperatorRequest.Kind kind() {
            return OperatorRequest.Kind.START;
        }

        @Override
        String to() {
            return toNode;
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stop it and keep it stopped (it is not failed over).")
    static final class Stop extends Action {
        @Override
        OperatorRequest.Kind kind() {
            return OperatorRequest.Kind.STOP;
        }
    }

    @Command(name = "restart", mixinStandardHelpOptions = true, description = "Stop it where it runs, then start it there again.")
    static final class Restart extends Action {
        @Override
        OperatorRequest.Kind kind() {
            return OperatorRequest.Kind.RESTART;
        }
    }

    @Command(name = "relocate", mixinStandardHelpOptions = true,
            description = {"Move it to --to NODE (or the best other node): stopped where it runs, then started there.",
                    "It stays there afterwards (stickiness), unless its failover domain fails it back."})
    static final class Relocate extends Action {
        @Option(names = "--to", paramLabel = "NODE", description = "The node to move it to (default: the best eligible other node).")
        String toNode;

        @Override
        OperatorRequest.Kind kind() {
            return OperatorRequest.Kind.RELOCATE;
        }

        @Override
        String to() {
            return toNode;
        }
    }

    @Command(name = "freeze", mixinStandardHelpOptions = true,
            description = {"Stop managing it: Baton neither starts, stops, monitors nor fails it over until 'unfreeze'.",
                    "It keeps running (or not) as it is."})
    static final class Freeze extends Action {
        @Override
        OperatorRequest.Kind kind() {
            return OperatorRequest.Kind.FREEZE;
        }
    }

    @Command(name = "unfreeze", mixinStandardHelpOptions = true, description = "Manage it again, as running.")
    static final class Unfreeze extends Action {
        @Override
        OperatorRequest.Kind kind() {
            return OperatorRequest.Kind.UNFREEZE;
        }
    }

    @Command(name = "standby", mixinStandardHelpOptions = true,
            description = {"Put NODE in standby: its workloads move off (stopped there, then started elsewhere),",
                    "and nothing is placed on it until 'unstandby'."})
    static class Standby implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(paramLabel = "NODE", description = "The node.")
        String node;

        @Mixin
        FenceCommand.Requester requester;

        boolean on() {
            return true;
        }

        @Override
        public Integer call() throws Exception {
            ClusterConfig cfg = config.load();
            NodeConfig n = FenceCommand.node(cfg, node);
            return send(cfg, requester, on() ? OperatorRequest.Kind.STANDBY : OperatorRequest.Kind.UNSTANDBY, 0, n.id(), "node " + n.name());
        }
    }

    @Command(name = "unstandby", mixinStandardHelpOptions = true, description = "End NODE's standby: placement may use it again.")
    static final class Unstandby extends Standby {
        @Override
        boolean on() {
            return false;
        }
    }

    /** What a command does once the coordinator carried its request out: follow what it set going; returns the exit status. */
    interface Follow {
        Follow NONE = (blocks, self) -> ExitStatus.OK;

        int follow(WorkloadBlocks blocks, NodeConfig self) throws Exception;
    }

    /** Writes the request, then polls this node's answer sector until the coordinator answered it. */
    static int send(ClusterConfig cfg, FenceCommand.Requester requester, OperatorRequest.Kind kind, int workloadId, int targetId,
                    String what) throws Exception {
        return send(cfg, requester, kind, workloadId, targetId, what, Follow.NONE);
    }

    /** {@link #send}, then {@code follow} while the disk is still open, when the request was carried out. */
    static int send(ClusterConfig cfg, FenceCommand.Requester requester, OperatorRequest.Kind kind, int workloadId, int targetId,
                    String what, Follow follow) throws Exception {
        NodeConfig self = requester.self(cfg, StatusCommand.daemonView(cfg, requester.runDir, requester.as));
        return FenceCommand.withDisk(cfg, true, (disk, header, key) -> {
            FenceBlocks fence = new FenceBlocks(disk, new FenceRecordCodec(header.clusterId(), key));
            int maxId = cfg.workloads().stream().mapToInt(WorkloadConfig::id).max().orElse(1);
            WorkloadBlocks blocks = new WorkloadBlocks(disk, header.clusterId(), key, Math.max(maxId, workloadId));
            OperatorRequest request = FenceCommand.Requester.submit(cfg, fence, self, kind, targetId, 0, "baton " + kind.label + " " + what,
                    workloadId);
            System.err.println(kind.label + " " + what + ": request " + request.seq() + " written by " + self.name()
                    + "; waiting for the coordinator");
            long deadline = System.nanoTime() + requester.waitSeconds * 1_000_000_000L;
            while (System.nanoTime() - deadline < 0) {
                OperatorAnswer a = blocks.read(List.of(), true).answers().get(self.id());
                if (a != null && a.seq() == request.seq()) {
                    if (requester.json) {
                        ObjectNode o = DiskCommand.JSON.createObjectNode();
                        o.put("request", kind.label);
                        o.put("seq", a.seq());
                        o.put("done", a.done());
                        o.put("text", a.text());
                        o.put("generation", a.generation());
                        System.out.println(DiskCommand.JSON.writeValueAsString(o));
                    } else {
                        System.out.println((a.done() ? "done: " : "refused: ") + a.text());
                    }
                    return a.done() ? follow.follow(blocks, self) : ExitStatus.FAILURE;
                }
                Thread.sleep(200);
            }
            System.err.println("no answer within " + requester.waitSeconds + " s: is there a coordinator? ('baton status' shows it)");
            return ExitStatus.FAILURE;
        });
    }
}
