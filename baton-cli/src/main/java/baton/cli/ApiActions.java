package baton.cli;

import baton.core.fence.OperatorRequest;
import baton.runtime.config.ClusterConfig;
import baton.runtime.config.NodeConfig;
import baton.runtime.config.WorkloadConfig;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Where each operator request goes in the API (docs/api.md), and its body. */
final class ApiActions {
    private ApiActions() {}

    /** The action's path; fills {@code body} with its fields. */
    static String path(ClusterConfig cfg, OperatorRequest.Kind kind, int targetId, long targetIncarnation, String reason, int workloadId,
                       ObjectNode body) {
        String target = targetId == 0 ? null : cfg.node(targetId).map(NodeConfig::name).orElseThrow();
        if (kind.workload()) {
            String name = cfg.workloads().stream().filter(w -> w.id() == workloadId).map(WorkloadConfig::name).findFirst().orElseThrow();
            if (target != null) {
                body.put("to", target);
            }
            String action = switch (kind) {
                case MIGRATE, MIGRATE_CHECKPOINT -> {
                    body.put("mode", kind == OperatorRequest.Kind.MIGRATE ? "live" : "checkpoint");
                    yield "migrate";
                }
                default -> kind.label;
            };
            return "/api/v1/workloads/" + name + "/" + action;
        }
        String action = switch (kind) {
            case FENCE, CONFIRM -> {
                body.put("reason", reason);
                if (kind == OperatorRequest.Kind.FENCE) {
                    body.put("incarnation", targetIncarnation);
                }
                yield kind.label;
            }
            case SWITCHOVER, SWITCHOVER_CHECKPOINT -> {
                body.put("mode", kind == OperatorRequest.Kind.SWITCHOVER ? "live" : "checkpoint");
                yield "switchover";
            }
            case RESUME, RESUME_SWITCH_BACK -> {
                body.put("switchBack", kind == OperatorRequest.Kind.RESUME_SWITCH_BACK);
                yield "resume";
            }
            default -> kind.label;
        };
        return "/api/v1/nodes/" + target + "/" + action;
    }
}
