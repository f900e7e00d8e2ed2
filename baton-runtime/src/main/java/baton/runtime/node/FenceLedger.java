package baton.runtime.node;

import baton.core.disk.DiskLayout;
import baton.core.fence.FenceRecord;
import baton.core.fence.OperatorRequest;
import baton.runtime.fence.FenceBlocks;
import baton.runtime.log.KvLog;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * The coordinator's fencing ledger on the quorum disk: it writes each fence record to the
 * victim's record block and to the history ring (both copies), and reads the operators'
 * requests. All I/O runs in order on one virtual thread; completions come back to the node's
 * event loop through {@code loop}, so that the loop's state is touched by the loop only.
 *
 * <p>Sequence numbers: a new coordinator first reads the history ring and continues after its
 * highest entry, and reads every fence record to learn which operator requests were answered
 * already, which incarnations are dead already (so that it does not fence and recover them a
 * second time), and which carry a poison pill (which stays on their later records). Writes are tagged with the lease generation they were decided under; a write whose
 * generation is no longer this node's is dropped (a deposed coordinator writes nothing).
 */
final class FenceLedger implements AutoCloseable {
    /** A request older than this (by the writer's and this node's wall clocks) is refused, not acted on. */
    static final long REQUEST_MAX_AGE_MILLIS = 600_000;

    private final FenceBlocks blocks;
    private final int selfId;
    private final int maxNodeId;
    private final KvLog log;
    private final Consumer<Runnable> loop;
    /** A platform thread: disk writes must not wait for a virtual-thread carrier (see NodeDaemon's ticker). */
    private final ExecutorService worker = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon(true).priority(Thread.MAX_PRIORITY).name("baton-fence-ledger").factory());

    // Worker state.
    private long nextSeq;

    // Loop state.
    private volatile long generation; // read by the worker to drop a deposed coordinator's writes
    private boolean ready;
    private boolean polling;
    private boolean readingDead;
    private final long[] handledSeq = new long[DiskLayout.MAX_NODES + 1];
    private final long[] pillIncarnation = new long[DiskLayout.MAX_NODES + 1];
    private final Map<Integer, OperatorRequest> answering = new HashMap<>();

    FenceLedger(FenceBlocks blocks, int selfId, int maxNodeId, KvLog log, Consumer<Runnable> loop) {
        this.blocks = blocks;
        this.selfId = selfId;
        this.maxNodeId = maxNodeId;
        this.log = log;
        this.loop = loop;
    }

    /** Loop: this node holds the lease in {@code gen}; learn the ledger's state from the disk. */
    void becameCoordinator(long gen, Consumer<FenceRecord> dead) {
        generation = gen;
        ready = false;
        worker.execute(() -> {
            long maxSeq = 0;
            for (FenceRecord r : blocks.history()) {
                maxSeq = Math.max(maxSeq, r.seq());
            }
            Map<Integer, FenceRecord> records = blocks.records(maxNodeId);
            for (FenceRecord r : records.values()) {
                maxSeq = Math.max(maxSeq, r.seq());
            }
            nextSeq = maxSeq + 1;
            long next = nextSeq;
            loop.accept(() -> {
                if (generation != gen) {
                    return;
                }
                for (FenceRecord r : records.values()) {
                    if (r.requesterId() != 0) {
                        handledSeq[r.requesterId()] = Math.max(handledSeq[r.requesterId()], r.requestSeq());
                    }
                    if (r.state().dead()) {
                        dead.accept(r);
                    }
                    if (r.pill()) {
                        pillIncarnation[r.victimId()] = r.victimIncarnation();
                    }
                }
                ready = true;
                log.info("event=fence-ledger-ready generation=" + gen + " next-seq=" + next + " records=" + records.size());
            });
        });
    }

    void ceased() {
        generation = -1;
        ready = false;
        answering.clear();
    }

    /** Loop: the request the next records about {@code victimId} answer. */
    void answer(int victimId, OperatorRequest request) {
        answering.put(victimId, request);
    }

    /**
     * Loop: records {@code state} of {@code victimId}'s incarnation; {@code done} runs on the loop
     * with the copies' write errors (empty: on both copies). A pill stays on every later record
     * about the same incarnation.
     */
    void record(int victimId, long incarnation, FenceRecord.State state, String text, boolean pill, long gen,
                Consumer<List<String>> done) {
        if (pill) {
            pillIncarnation[victimId] = incarnation;
        }
        boolean withPill = incarnation != 0 && pillIncarnation[victimId] == incarnation;
        // Records carry the request they answer until its answer is final.
        OperatorRequest req = state == FenceRecord.State.FENCING ? answering.get(victimId) : answering.remove(victimId);
        worker.execute(() -> {
            List<String> errors;
            if (generation != gen) {
                errors = List.of("not the coordinator of generation " + gen + " any more");
            } else {
                FenceRecord r = new FenceRecord(victimId, incarnation, nextSeq++, gen, System.currentTimeMillis(), selfId, state,
                        withPill, req == null ? 0 : req.requesterId(), req == null ? 0 : req.seq(), text);
                byte[] bytes = blocks.codec().encode(r);
                errors = blocks.writeBoth(DiskLayout.fenceRecordBlock(victimId), bytes);
                List<String> historyErrors = blocks.writeBoth(DiskLayout.historyBlock(r.seq()), bytes);
                if (!historyErrors.isEmpty()) {
                    log.warn("event=fence-history-write-failed seq=" + r.seq() + " errors=" + KvLog.q(String.join("; ", historyErrors)));
                }
            }
            List<String> result = errors;
            loop.accept(() -> {
                if (done != null) {
                    done.accept(result);
                }
            });
        });
    }

    /**
     * Loop: reads the request blocks, unless a read is under way or the ledger is not ready;
     * {@code handler} gets each request not answered before, on the loop.
     */
    void pollRequests(Consumer<OperatorRequest> handler) {
        if (!ready || polling) {
            return;
        }
        polling = true;
        long gen = generation;
        worker.execute(() -> {
            Map<Integer, OperatorRequest> requests = blocks.requests(maxNodeId);
            loop.accept(() -> {
                polling = false;
                if (generation != gen || !ready) {
                    return;
                }
                for (OperatorRequest r : requests.values()) {
                    if (r.seq() > handledSeq[r.requesterId()]) {
                        handledSeq[r.requesterId()] = r.seq();
                        handler.accept(r);
                    }
                }
            });
        });
    }

    /**
     * Loop: reads every fence record and hands those that say dead to {@code dead} on the loop;
     * how a node that is not the coordinator learns that a down node was fenced. One read at a time.
     */
    void readDead(Consumer<FenceRecord> dead) {
        if (readingDead) {
            return;
        }
        readingDead = true;
        worker.execute(() -> {
            Map<Integer, FenceRecord> records = blocks.records(maxNodeId);
            loop.accept(() -> {
                readingDead = false;
                records.values().stream().filter(r -> r.state().dead()).forEach(dead);
            });
        });
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
