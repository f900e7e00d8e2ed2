package baton.core.membership;

/** Events of the membership core, with their key=value form for the log. */
public sealed interface MembershipEvent {
    String fields();

    record VerdictChanged(int peer, Verdict from, Verdict to, String evidence) implements MembershipEvent {
        public String fields() {
            return "event=verdict node-id=" + peer + " from=" + from.label() + " to=" + to.label() + " evidence=\"" + evidence + "\"";
        }
    }

    /** A peer holds this node down (it saw it silent on both channels): this incarnation must not stay a member. */
    record DeclaredDown(int byPeer) implements MembershipEvent {
        public String fields() {
            return "event=declared-down by-id=" + byPeer;
        }
    }

    /** This node was paused or starved for longer than a peer may be silent: it may have been declared down. */
    record SelfPaused(long latenessNanos) implements MembershipEvent {
        public String fields() {
            return "event=self-paused late-ms=" + latenessNanos / 1_000_000L;
        }
    }
}
