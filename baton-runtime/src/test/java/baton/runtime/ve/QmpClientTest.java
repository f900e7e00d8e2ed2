package baton.runtime.ve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 20, unit = TimeUnit.SECONDS)
class QmpClientTest {
    static final Duration LONG = Duration.ofSeconds(5);
    static final Duration SHORT = Duration.ofMillis(200);

    @TempDir
    Path dir;

    static QmpException.Kind kind(Throwable t) {
        return ((QmpException) t).kind();
    }

    @Test
    void greetingAndCapabilitiesThenACommandGetsItsReturnValue() throws Exception {
        try (FakeQmp server = FakeQmp.start(dir, r -> List.of(FakeQmp.ok(r, "{\"status\": \"running\", \"running\": true}")));
                QmpClient qmp = QmpClient.connect(server.socket, LONG)) {
            JsonNode status = qmp.execute("query-status", LONG);

            assertThat(qmp.qemuVersion()).isEqualTo("7.2.22");
            assertThat(status.path("status").asText()).isEqualTo("running");
            assertThat(server.requests.take().path("execute").asText()).isEqualTo("qmp_capabilities");
            JsonNode sent = server.requests.take();
            assertThat(sent.path("execute").asText()).isEqualTo("query-status");
            assertThat(sent.path("id").asText()).startsWith("baton-");
            assertThat(sent.has("arguments")).isFalse();
        }
    }

    @Test
    void argumentsAreSentAsAJsonObject() throws Exception {
        try (FakeQmp server = FakeQmp.start(dir, r -> List.of(FakeQmp.ok(r, "{}")));
                QmpClient qmp = QmpClient.connect(server.socket, LONG)) {
            qmp.execute("migrate-set-capabilities", Map.of("capabilities", List.of(Map.of("capability", "events", "state", true))), LONG);

            server.requests.take();
            // Map.of has no order: compare JSON trees, not text.
            assertThat(server.requests.take().path("arguments"))
                    .isEqualTo(FakeQmp.JSON.readTree("{\"capabilities\":[{\"capability\":\"events\",\"state\":true}]}"));
        }
    }

    @Test
    void eventsBetweenACommandAndItsAnswerAreQueuedInOrderAndTheAnswerStillArrives() throws Exception {
        try (FakeQmp server = FakeQmp.start(dir, r -> List.of(
                        FakeQmp.event("POWERDOWN", null),
                        FakeQmp.ok(r, "{}"),
                        FakeQmp.event("SHUTDOWN", "{\"guest\": true, \"reason\": \"guest-shutdown\"}")));
                QmpClient qmp = QmpClient.connect(server.socket, LONG)) {
            qmp.execute("system_powerdown", LONG);

            QmpEvent first = qmp.nextEvent(LONG).orElseThrow();
            assertThat(first.name()).isEqualTo("POWERDOWN");
            assertThat(first.data().isEmpty()).isTrue();
            assertThat(first.timestamp().getEpochSecond()).isEqualTo(1795408376L);
            QmpEvent second = qmp.awaitEvent(e -> e.name().equals("SHUTDOWN"), LONG).orElseThrow();
            assertThat(second.data().path("reason").asText()).isEqualTo("guest-shutdown");
            assertThat(qmp.nextEvent(Duration.ZERO)).isEmpty();
        }
    }

    @Test
    void answersAreMatchedByIdWhenTheyComeInAnotherOrder() throws Exception {
        CountDownLatch firstArrived = new CountDownLatch(1);
        AtomicReference<JsonNode> first = new AtomicReference<>();
        try (FakeQmp server = FakeQmp.start(dir, r -> {
                    if (r.path("execute").asText().equals("query-name")) {
                        first.set(r);
                        firstArrived.countDown();
                        return List.of();
                    }
                    // Answer the second command first, then the held first one.
                    return List.of(FakeQmp.ok(r, "\"second\""), FakeQmp.ok(first.get(), "\"first\""));
                });
                QmpClient qmp = QmpClient.connect(server.socket, LONG)) {
            CompletableFuture<JsonNode> a = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try {
                    a.complete(qmp.execute("query-name", LONG));
                } catch (Exception e) {
                    a.completeExceptionally(e);
                }
            });
            assertThat(firstArrived.await(5, TimeUnit.SECONDS)).isTrue();
            JsonNode b = qmp.execute("query-uuid", LONG);

            assertThat(b.asText()).isEqualTo("second");
            assertThat(a.get(5, TimeUnit.SECONDS).asText()).isEqualTo("first");
        }
    }

    @Test
    void anErrorAnswerIsAnExceptionWithQemusClassAndDescription() throws Exception {
        try (FakeQmp server = FakeQmp.start(dir, r -> List.of(FakeQmp.error(r, "CommandNotFound", "The command foo has not been found")));
                QmpClient qmp = QmpClient.connect(server.socket, LONG)) {
            assertThatThrownBy(() -> qmp.execute("foo", LONG))
                    .isInstanceOfSatisfying(QmpException.class, e -> {
                        assertThat(e.kind()).isEqualTo(QmpException.Kind.ERROR);
                        assertThat(e.errorClass()).contains("CommandNotFound");
                        assertThat(e.desc()).contains("The command foo has not been found");
                    })
                    .hasMessage("QMP foo failed: CommandNotFound: The command foo has not been found");
            assertThat(qmp.isOpen()).isTrue();
        }
    }

    @Test
    void aCommandWithoutAnswerTimesOutAtItsDeadlineAndItsLateAnswerIsDropped() throws Exception {
        AtomicReference<JsonNode> held = new AtomicReference<>();
        try (FakeQmp server = FakeQmp.start(dir, r -> {
                    if (r.path("execute").asText().equals("stuck")) {
                        held.set(r);
                        return List.of();
                    }
                    return List.of(FakeQmp.ok(r, "\"fine\""));
                });
                QmpClient qmp = QmpClient.connect(server.socket, LONG)) {
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> qmp.execute("stuck", SHORT))
                    .satisfies(e -> assertThat(kind(e)).isEqualTo(QmpException.Kind.TIMEOUT))
                    .hasMessageContaining("no answer within 200 ms");
            long tookMillis = (System.nanoTime() - t0) / 1_000_000;
            assertThat(tookMillis).isBetween(190L, 2000L);

            server.send(FakeQmp.ok(held.get(), "\"late\""));
            assertThat(qmp.execute("query-status", LONG).asText()).isEqualTo("fine");
            assertThat(qmp.lateReplies()).isEqualTo(1);
            assertThat(qmp.isOpen()).isTrue();
        }
    }

    @Test
    void malformedJsonEndsTheConnectionAndFailsTheWaitingCommandAtOnce() throws Exception {
        try (FakeQmp server = FakeQmp.start(dir, r -> List.of("{\"return\": {}, \"id\": oops"));
                QmpClient qmp = QmpClient.connect(server.socket, LONG)) {
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> qmp.execute("query-status", LONG))
                    .satisfies(e -> assertThat(kind(e)).isEqualTo(QmpException.Kind.PROTOCOL))
                    .hasMessageContaining("malformed JSON").hasMessageContaining("{\"return\": {}, \"id\": oops");
            assertThat(System.nanoTime() - t0).isLessThan(LONG.toNanos());
            assertThat(qmp.isOpen()).isFalse();
            assertThatThrownBy(() -> qmp.execute("query-status", LONG))
                    .satisfies(e -> assertThat(kind(e)).isEqualTo(QmpException.Kind.PROTOCOL));
            assertThat(qmp.nextEvent(LONG)).isEmpty();
        }
    }

    @Test
    void aMessageThatIsNoObjectOrUnknownIsAProtocolError() throws Exception {
        try (FakeQmp server = FakeQmp.start(dir, r -> List.of("[1, 2]"));
                QmpClient qmp = QmpClient.connect(server.socket, LONG)) {
            assertThatThrownBy(() -> qmp.execute("query-status", LONG)).hasMessageContaining("no JSON object");
        }
        try (FakeQmp server = FakeQmp.start(dir, r -> List.of("{\"hello\": 1}"));
                QmpClient qmp = QmpClient.connect(server.socket, LONG)) {
            assertThatThrownBy(() -> qmp.execute("query-status", LONG)).hasMessageContaining("unknown QMP message");
        }
    }

    @Test
    void anAnswerWithoutIdCannotBeMatchedAndEndsTheConnection() throws Exception {
        try (FakeQmp server = FakeQmp.start(dir, r -> List.of("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}"));
                QmpClient qmp = QmpClient.connect(server.socket, LONG)) {
            assertThatThrownBy(() -> qmp.execute("query-status", LONG))
                    .satisfies(e -> assertThat(kind(e)).isEqualTo(QmpException.Kind.PROTOCOL))
                    .hasMessageContaining("without an id").hasMessageContaining("JSON parse error");
        }
    }

    @Test
    void anOverlongMessageEndsTheConnection() throws Exception {
        String huge = "{\"return\": \"" + "x".repeat(QmpClient.MAX_MESSAGE_BYTES) + "\"}";
        try (FakeQmp server = FakeQmp.start(dir, r -> List.of(huge));
                QmpClient qmp = QmpClient.connect(server.socket, LONG)) {
            assertThatThrownBy(() -> qmp.execute("query-qmp-schema", LONG))
                    .satisfies(e -> assertThat(kind(e)).isEqualTo(QmpException.Kind.PROTOCOL))
                    .hasMessageContaining("longer than " + QmpClient.MAX_MESSAGE_BYTES + " bytes");
        }
    }

    @Test
    void aServerThatNeverGreetsFailsTheConnectAtItsDeadline() throws Exception {
        try (FakeQmp server = FakeQmp.silent(dir)) {
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> QmpClient.connect(server.socket, SHORT))
                    .satisfies(e -> assertThat(kind(e)).isEqualTo(QmpException.Kind.TIMEOUT))
                    .hasMessageContaining("no QMP greeting");
            assertThat((System.nanoTime() - t0) / 1_000_000).isBetween(190L, 2000L);
        }
    }

    @Test
    void noSocketIsAClosedConnection() {
        assertThatThrownBy(() -> QmpClient.connect(dir.resolve("none.sock"), SHORT))
                .satisfies(e -> assertThat(kind(e)).isEqualTo(QmpException.Kind.CLOSED))
                .hasMessageContaining("cannot connect to QMP socket");
    }

    @Test
    void whenQemuHangsUpTheWaitingCommandFailsAsClosedAndQueuedEventsRemain() throws Exception {
        try (FakeQmp server = FakeQmp.start(dir, r -> List.of(FakeQmp.event("SHUTDOWN", "{\"guest\": false, \"reason\": \"host-qmp-quit\"}")));
                QmpClient qmp = QmpClient.connect(server.socket, LONG)) {
            CompletableFuture<Throwable> failure = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try {
                    qmp.execute("quit", LONG);
                    failure.complete(null);
                } catch (Exception e) {
                    failure.complete(e);
                }
            });
            Optional<QmpEvent> shutdown = qmp.nextEvent(LONG);
            server.hangUp();

            assertThat(kind(failure.get(5, TimeUnit.SECONDS))).isEqualTo(QmpException.Kind.CLOSED);
            assertThat(shutdown).map(QmpEvent::name).contains("SHUTDOWN");
            assertThat(qmp.isOpen()).isFalse();
            assertThat(qmp.closeCause().orElseThrow().getMessage()).contains("QEMU closed the QMP connection");
        }
    }

    @Test
    void theEventQueueIsBoundedAndDropsTheOldest() throws Exception {
        int extra = 6;
        try (FakeQmp server = FakeQmp.start(dir, r -> List.of(FakeQmp.ok(r, "{}")));
                QmpClient qmp = QmpClient.connect(server.socket, LONG)) {
            for (int i = 0; i < QmpClient.EVENT_QUEUE_LIMIT + extra; i++) {
                server.send(FakeQmp.event("E" + i, null));
            }
            // An answer after the events: once it is here, so are they.
            qmp.execute("query-status", LONG);

            List<QmpEvent> events = qmp.drainEvents();
            assertThat(events).hasSize(QmpClient.EVENT_QUEUE_LIMIT);
            assertThat(events.getFirst().name()).isEqualTo("E" + extra);
            assertThat(qmp.droppedEvents()).isEqualTo(extra);
        }
    }

    @Test
    void closeFailsWaitingCommandsAndIsIdempotent() throws Exception {
        try (FakeQmp server = FakeQmp.start(dir, r -> List.of())) {
            QmpClient qmp = QmpClient.connect(dir.resolve("qmp.sock"), LONG);
            CompletableFuture<Throwable> failure = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try {
                    qmp.execute("query-status", LONG);
                    failure.complete(null);
                } catch (Exception e) {
                    failure.complete(e);
                }
            });
            server.requests.take();
            server.requests.take();
            qmp.close();
            qmp.close();

            assertThat(failure.get(5, TimeUnit.SECONDS)).hasMessageContaining("closed by Baton");
            assertThat(kind(failure.get())).isEqualTo(QmpException.Kind.CLOSED);
        }
    }
}
