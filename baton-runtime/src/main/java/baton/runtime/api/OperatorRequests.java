package baton.runtime.api;

import baton.core.disk.DiskLayout;
import baton.core.fence.FenceRecord;
import baton.core.fence.OperatorRequest;
import baton.core.workload.OperatorAnswer;
import baton.runtime.config.NodeConfig;
import baton.runtime.fence.FenceBlocks;
import baton.runtime.workload.WorkloadBlocks;
import java.util.List;
import java.util.Optional;
import java.util.function.LongFunction;

/**
 * Sends operators' requests to the coordinator the one way requests travel: written into this
 * node's request block on both copies of the quorum disk, which the coordinator reads, and
 * answered in this node's answer sector (or, for fence and confirm, in the target's fence
 * record). So every node accepts every action, whichever node coordinates, and an action
 * survives a coordinator change. A node has one request block: requests from here go one
 * at a time, each after the previous one was answered or its wait ran out.
 */
public final class OperatorRequests {
    /** How a request stands when {@link #submit} returns. */
    public enum Status { DONE, REFUSED, PENDING }

    /** @param text the coordinator's answer, or what is known while it is pending */
    public record Outcome(OperatorRequest request, Status status, String text, long generation) {}

    private static final long POLL_MILLIS = 100;
    /**
     * How long a request waits for the previous one from this node to be answered before it
     * overwrites the node's request block: the coordinator reads the blocks every second, so
     * a few seconds cover a coordinator that is busy or just changed.
     */
    static final long PREVIOUS_WAIT_MILLIS = 5_000;

    private final NodeConfig self;
    private final FenceBlocks fence;
    private final WorkloadBlocks workloads;
    /** The last request written from here that had no answer when its submit returned. */
    private OperatorRequest unanswered;

    public OperatorRequests(NodeConfig self, FenceBlocks fence, WorkloadBlocks workloads) {
        this.self = self;
        this.fence = fence;
        this.workloads = workloads;
    }

    /** Writes the next request of {@code self} (a seq above the one in its block) to both copies; fails when neither took it. */
    public static OperatorRequest write(FenceBlocks blocks, NodeConfig self, LongFunction<OperatorRequest> make) {
        OperatorRequest previous = blocks.requests(self.id()).get(self.id());
        long seq = Math.max(System.currentTimeMillis(), previous == null ? 1 : previous.seq() + 1);
        OperatorRequest request = make.apply(seq);
        List<String> errors = blocks.writeBoth(DiskLayout.requestBlock(self.id()), blocks.codec().encode(request));
        if (errors.size() == 2) {
            throw new IllegalStateException("could not write the request to the quorum disk: " + errors);
        }
        return request;
    }

    /**
     * Writes a request and waits up to {@code waitMillis} for the coordinator's answer.
     *
     * @throws IllegalStateException when neither copy of the quorum disk took the request
     */
    public synchronized Outcome submit(OperatorRequest.Kind kind, int targetId, long targetIncarnation, int workloadId, String reason,
                                       long waitMillis) throws InterruptedException {
        if (unanswered != null) {
            long until = System.nanoTime() + PREVIOUS_WAIT_MILLIS * 1_000_000L;
            while (System.nanoTime() - until < 0 && (unanswered.kind().fence() ? fenceAnswer(unanswered) : answer(unanswered)).isEmpty()) {
                Thread.sleep(POLL_MILLIS);
            }
            unanswered = null;
        }
        OperatorRequest request = write(fence, self, seq -> new OperatorRequest(self.id(), seq, kind, targetId, targetIncarnation,
                System.currentTimeMillis(), reason, workloadId));
        long deadline = System.nanoTime() + waitMillis * 1_000_000L;
        Outcome last = new Outcome(request, Status.PENDING, "written to the quorum disk; the coordinator has not answered yet", 0);
        while (true) {
            Optional<Outcome> answered = kind.fence() ? fenceAnswer(request) : answer(request);
            if (answered.isPresent()) {
                last = answered.get();
                if (last.status() != Status.PENDING) {
                    return last;
                }
            }
            if (System.nanoTime() - deadline >= 0) {
                if (answered.isEmpty()) {
                    unanswered = request;
                }
                return last;
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    private Optional<Outcome> answer(OperatorRequest request) {
        OperatorAnswer a = workloads.read(List.of(), true).answers().get(self.id());
        if (a == null || a.seq() != request.seq()) {
            return Optional.empty();
        }
        return Optional.of(new Outcome(request, a.done() ? Status.DONE : Status.REFUSED, a.text(), a.generation()));
    }

    private Optional<Outcome> fenceAnswer(OperatorRequest request) {
        Optional<FenceRecord> r = fence.record(request.targetId());
        if (r.isEmpty() || r.get().requesterId() != request.requesterId() || r.get().requestSeq() != request.seq()) {
            return Optional.empty();
        }
        FenceRecord rec = r.get();
        Status status = switch (rec.state()) {
            case FENCED, CONFIRMED -> Status.DONE;
            case REFUSED, CANNOT_DETERMINE, CANCELLED -> Status.REFUSED;
            case FENCING -> Status.PENDING;
        };
        return Optional.of(new Outcome(request, status, rec.state().label + ": " + rec.text(), rec.generation()));
    }
}
