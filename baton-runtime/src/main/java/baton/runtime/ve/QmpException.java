package baton.runtime.ve;

import java.io.IOException;
import java.util.Objects;
import java.util.Optional;

/**
 * A QMP command that did not succeed, or a QMP connection that failed. The {@link Kind} says
 * which, for the caller's exhaustive switch.
 */
public final class QmpException extends IOException {
    private static final long serialVersionUID = 1L;

    public enum Kind {
        /** QEMU answered with an error: see {@link #errorClass()} and {@link #desc()}. */
        ERROR,
        /** No answer within the deadline. The connection stays usable; a late answer is dropped. */
        TIMEOUT,
        /** The connection is closed (QEMU exited, or the client was closed). */
        CLOSED,
        /** Already {@link QmpClient#MAX_PENDING_COMMANDS} commands wait for their answers; this one was not sent. */
        BUSY,
        /** QEMU sent something that is not QMP (malformed JSON, an over-long message, no greeting); the connection is closed. */
        PROTOCOL
    }

    private final Kind kind;
    private final String errorClass;
    private final String desc;

    private QmpException(Kind kind, String message, String errorClass, String desc, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
        this.errorClass = errorClass;
        this.desc = desc;
    }

    /** QEMU's error reply to {@code command}: {@code {"error": {"class": ..., "desc": ...}}}. */
    static QmpException error(String command, String errorClass, String desc) {
        return new QmpException(Kind.ERROR, "QMP " + command + " failed: " + errorClass + ": " + desc, errorClass, desc, null);
    }

    static QmpException of(Kind kind, String message) {
        return new QmpException(kind, message, null, null, null);
    }

    static QmpException of(Kind kind, String message, Throwable cause) {
        return new QmpException(kind, message, null, null, cause);
    }

    /** This failure as seen by another caller (a fresh stack trace, the same kind and message). */
    QmpException copy() {
        return new QmpException(kind, getMessage(), errorClass, desc, getCause());
    }

    public Kind kind() {
        return kind;
    }

    /** QEMU's error class (GenericError, CommandNotFound, DeviceNotFound, ...), for {@link Kind#ERROR}. */
    public Optional<String> errorClass() {
        return Optional.ofNullable(errorClass);
    }

    /** QEMU's description of the error, for {@link Kind#ERROR}. */
    public Optional<String> desc() {
        return Optional.ofNullable(desc);
    }
}
