package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.lab.ExecResult;
import baton.lab.Poll;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The API's contract against a real 3-node cluster (docs/api.md): every resource, every kind
 * of refusal (no token, wrong token, unknown names, bad JSON, unknown fields, wrong methods,
 * out-of-range values), an action sent to a node that is not the coordinator, the event
 * stream, and the CLI commands that talk to the API. Raw requests go through {@code curl}
 * inside a node's namespace, so nothing is assumed about Baton's own client.
 */
class ApiIT {
    /** One raw HTTPS exchange from inside node {@code on}'s namespace. */
    record Reply(int status, String body) {
        JsonNode json() throws Exception {
            return ServiceLab.JSON.readTree(body);
        }
    }

    static Reply curl(ServiceLab.Setup s, int on, String method, String path, String token, String body, String... extra) {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sk", "--max-time", "70", "-o", "-", "-w", "\n%{http_code}",
                "-X", method));
        if (token != null) {
            cmd.addAll(List.of("-H", "Authorization: Bearer " + token));
        }
        if (body != null) {
            cmd.addAll(List.of("-H", "Content-Type: application/json", "--data-binary", body));
        }
        cmd.addAll(List.of(extra));
        cmd.add("https://198.18.0." + on + ":7480" + path);
        ExecResult r = s.c().host(on).run(Duration.ofSeconds(80), cmd.toArray(String[]::new));
        assertThat(r.exitCode()).as(() -> r.describe() + "\n" + s.logs()).isZero();
        String out = r.stdout();
        int nl = out.lastIndexOf('\n');
        return new Reply(Integer.parseInt(out.substring(nl + 1).trim()), out.substring(0, Math.max(0, nl)));
    }

    static String token(ServiceLab.Setup s, int on) {
        ExecResult r = s.c().baton(on, "api", "token", "--config", s.c().config(on).toString());
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return r.stdout().trim();
    }

    @Test
    void everyResourceEveryRefusalAndActionsOnAnyNode() throws Exception {
        ServiceLab.withServices(s -> {
            String token = token(s, 1);
            assertThat(token).matches("[0-9a-f]{64}");
            assertThat(s.c().host(1).address().getHostAddress()).isEqualTo("198.18.0.1");

            // Reads.
            JsonNode status = curl(s, 1, "GET", "/api/v1/status", token, null).json();
            assertThat(status.path("node").asText()).isEqualTo("node-1");
            assertThat(status.path("nodes")).hasSize(3);
            assertThat(status.path("nodes").findValuesAsText("verdict")).containsOnly("up");
            assertThat(status.path("coordinator").path("holder").asText()).startsWith("node-");
            assertThat(curl(s, 2, "GET", "/api/v1/nodes", token, null).json()).hasSize(3);
            JsonNode node3 = curl(s, 1, "GET", "/api/v1/nodes/node-3", token, null).json();
            assertThat(node3.path("verdict").asText()).isEqualTo("up");
            assertThat(node3.path("evidence").asText()).isNotEmpty();
            assertThat(curl(s, 1, "GET", "/api/v1/workloads", token, null).json().findValuesAsText("name"))
                    .containsExactly("alpha", "beta");
            assertThat(curl(s, 1, "GET", "/api/v1/workloads/alpha", token, null).json().path("owner").asText()).isEqualTo("node-1");
            assertThat(curl(s, 1, "GET", "/api/v1/fence-devices", token, null).json().findValuesAsText("name")).isNotEmpty();
            JsonNode disk = curl(s, 3, "GET", "/api/v1/disk", token, null).json();
            assertThat(disk.path("copies").findValuesAsText("copy")).containsExactly("primary", "shadow");
            assertThat(disk.path("slots").findValuesAsText("reconciled")).hasSize(3);
            assertThat(curl(s, 1, "GET", "/api/v1/operations", token, null).json().isArray()).isTrue();
            JsonNode events = curl(s, 1, "GET", "/api/v1/events?since=0&limit=5", token, null).json();
            assertThat(events.path("events")).hasSize(5);
            assertThat(events.path("events").get(0).path("seq").asLong()).isEqualTo(1);
            assertThat(events.path("lastSeq").asLong()).isGreaterThan(5);
            Reply metrics = curl(s, 1, "GET", "/metrics", token, null);
            assertThat(metrics.status()).isEqualTo(200);

            // Refusals: each a 4xx with a message and a fix, and nothing changes.
            Reply none = curl(s, 1, "GET", "/api/v1/status", null, null);
            assertThat(none.status()).isEqualTo(401);
            assertThat(none.json().path("error").asText()).contains("token");
            assertThat(none.json().path("fix").asText()).contains("baton api token");
            assertThat(curl(s, 1, "GET", "/api/v1/status", "0".repeat(64), null).status()).isEqualTo(401);
            assertThat(curl(s, 1, "GET", "/metrics", null, null).status()).isEqualTo(401);
            assertThat(curl(s, 1, "POST", "/api/v1/workloads/alpha/stop", null, "{}").status()).isEqualTo(401);
            Reply login = curl(s, 1, "GET", "/", null, null);
            assertThat(login.status()).isEqualTo(401);
            assertThat(login.body()).contains("<form").contains("token");
            assertThat(curl(s, 1, "GET", "/api/v1/status", token, null).json().path("api").path("unauthorized").asLong())
                    .isGreaterThanOrEqualTo(5);
            Reply link = curl(s, 1, "GET", "/?token=" + token, null, null, "-D", "-");
            assertThat(link.status()).isEqualTo(303);
            assertThat(link.body()).containsIgnoringCase("set-cookie: baton_token=").contains("HttpOnly").contains("Secure");
            assertThat(curl(s, 1, "GET", "/", null, null, "-H", "Cookie: baton_token=" + token).status()).isEqualTo(200);

            assertRefused(curl(s, 1, "GET", "/api/v1/nodes/node-9", token, null), 404, "no node named 'node-9'");
            assertRefused(curl(s, 1, "GET", "/api/v1/workloads/gamma", token, null), 404, "no workload named 'gamma'");
            assertRefused(curl(s, 1, "GET", "/api/v1/nothing", token, null), 404, "no such resource");
            assertRefused(curl(s, 1, "POST", "/api/v1/nodes/node-2/explode", token, "{}"), 404, "no node action 'explode'");
            assertRefused(curl(s, 1, "POST", "/api/v1/workloads/alpha/relocate", token, "{\"to\": "), 400, "not JSON");
            assertRefused(curl(s, 1, "POST", "/api/v1/workloads/alpha/relocate", token, "[1]"), 400, "JSON object");
            assertRefused(curl(s, 1, "POST", "/api/v1/workloads/alpha/relocate", token, "{\"ot\": \"node-2\"}"), 400,
                    "unknown field 'ot'");
            assertRefused(curl(s, 1, "POST", "/api/v1/workloads/alpha/relocate", token, "{\"to\": \"node-7\"}"), 404,
                    "no node named 'node-7'");
            assertRefused(curl(s, 1, "POST", "/api/v1/workloads/alpha/migrate", token, "{}"), 400, "only VEs migrate");
            assertRefused(curl(s, 1, "POST", "/api/v1/nodes/node-2/switchover", token, "{\"mode\": \"fast\"}"), 400,
                    "not a migration mode");
            assertRefused(curl(s, 1, "POST", "/api/v1/nodes/node-2/resume", token, "{\"switchBack\": \"yes\"}"), 400, "true or false");
            assertRefused(curl(s, 1, "POST", "/api/v1/workloads/alpha/stop", token, "{\"wait\": 9999}"), 400, "'wait'");
            assertRefused(curl(s, 1, "DELETE", "/api/v1/status", token, null), 405, "not allowed");
            assertRefused(curl(s, 1, "GET", "/api/v1/nodes/node-2/standby", token, null), 405, "GET is not allowed");
            assertRefused(curl(s, 1, "GET", "/api/v1/events?since=abc", token, null), 400, "whole number");
            assertRefused(curl(s, 1, "GET", "/api/v1/events?limit=0", token, null), 400, "'limit'");
            assertThat(s.workload(1, "alpha").path("owner").asText()).isEqualTo("node-1");
            assertThat(s.workload(1, "alpha").path("desired").asText()).isEqualTo("running");

            // An action sent to a node that does not coordinate: accepted there, carried out by the coordinator.
            String coordinator = status.path("coordinator").path("holder").asText();
            int via = coordinator.equals("node-3") ? 2 : 3;
            int coordinatorId = Integer.parseInt(coordinator.substring("node-".length()));
            long seqBefore = curl(s, coordinatorId, "GET", "/api/v1/events?limit=1", token, null).json().path("lastSeq").asLong();
            Reply relocated = curl(s, via, "POST", "/api/v1/workloads/alpha/relocate", token, "{\"to\": \"node-3\", \"wait\": 30}");
            assertThat(relocated.status()).as(relocated.body()).isEqualTo(200);
            assertThat(relocated.json().path("status").asText()).isEqualTo("done");
            assertThat(relocated.json().path("acceptedBy").asText()).isEqualTo("node-" + via);
            assertThat(relocated.json().path("coordinator").asText()).isEqualTo(coordinator);
            assertThat(s.awaitRunningOn(1, "alpha", "node-3")).as(s::startFailure).isTrue();
            // The coordinator logged the decision, with the request's node and the new owner.
            JsonNode after = curl(s, coordinatorId, "GET", "/api/v1/events?since=" + seqBefore + "&limit=1000", token, null).json();
            assertThat(after.path("events").findValuesAsText("type")).contains("operator-request", "workload-owner");

            // The metrics after that known event: the new owner, the refused requests, every peer's verdict.
            String scrape = curl(s, 1, "GET", "/metrics", token, null).body();
            assertThat(metric(scrape, "baton_workload_owner", "workload=\"alpha\"", "owner=\"node-3\"")).isEqualTo(1.0);
            assertThat(metric(scrape, "baton_api_requests_total", "status=\"401\"", "route=\"/api/v1/status\"")).isGreaterThanOrEqualTo(2.0);
            assertThat(metric(scrape, "baton_peer_verdict", "peer=\"node-2\"", "verdict=\"up\"")).isEqualTo(1.0);
            assertThat(metric(scrape, "baton_peer_verdict", "peer=\"node-2\"", "verdict=\"down\"")).isEqualTo(0.0);
            assertThat(metric(scrape, "baton_is_coordinator")).isEqualTo(coordinator.equals("node-1") ? 1.0 : 0.0);
            assertThat(metric(scrape, "baton_heartbeat_age_seconds", "peer=\"node-3\"")).isBetween(0.0, 1.0);

            // A refused request is a 409 with the coordinator's reason.
            Reply refused = curl(s, 2, "POST", "/api/v1/workloads/beta/start", token, "{\"to\": \"node-1\", \"wait\": 30}");
            assertThat(refused.status()).as(refused.body()).isIn(200, 409);

            // The event stream: the kept events from ?since=, then new ones as they happen.
            ExecResult stream = s.c().host(2).run(Duration.ofSeconds(20), "curl", "-sk", "--max-time", "3", "-N",
                    "-H", "Authorization: Bearer " + token, "https://198.18.0.2:7480/api/v1/events/stream?since=0&status=1");
            assertThat(stream.stdout()).contains("id: 1\nevent: event\ndata: {\"seq\":1,").contains("event: status\ndata: {");

            // The CLI talks to the API: events, status (which carries the API's own figures), raw get/post.
            ExecResult ev = s.c().baton(coordinatorId, "events", "--config", s.c().config(coordinatorId).toString(), "--run-dir",
                    s.c().runDir().toString(), "--node", coordinator, "--type", "workload-owner");
            assertThat(ev.exitCode()).as(ev.describe()).isZero();
            assertThat(ev.stdout()).contains("workload-owner").contains("workload=alpha");
            ExecResult st = s.c().baton(1, "status", "--json", "--config", s.c().config(1).toString(), "--run-dir",
                    s.c().runDir().toString());
            assertThat(ServiceLab.JSON.readTree(st.stdout()).has("api")).as(st.describe()).isTrue();
            ExecResult get = s.c().baton(3, "api", "get", "/api/v1/workloads/alpha", "--config", s.c().config(3).toString(),
                    "--node", "node-3");
            assertThat(ServiceLab.JSON.readTree(get.stdout()).path("owner").asText()).as(get.describe()).isEqualTo("node-3");
            ExecResult bad = s.c().baton(3, "api", "post", "/api/v1/workloads/alpha/relocate", "{\"to\": 3}", "--config",
                    s.c().config(3).toString(), "--node", "node-3");
            assertThat(bad.exitCode()).isEqualTo(1);
            assertThat(bad.stderr()).contains("HTTP 400").contains("non-empty string");
            // --json on the commands that report, the fence check among them.
            ExecResult check = s.c().baton(2, "fence", "check", "--json", "--config", s.c().config(2).toString());
            assertThat(check.exitCode()).as(check.describe()).isZero();
            JsonNode devices = ServiceLab.JSON.readTree(check.stdout()).path("devices");
            assertThat(devices.findValuesAsText("device")).as(check.stdout()).containsExactly("ipmi-1", "ipmi-2", "ipmi-3");
            assertThat(devices.get(0).path("problems")).isEmpty();

            // Operator commands go through the API too: this node's daemon wrote the request.
            long actions = curl(s, 1, "GET", "/api/v1/status", token, null).json().path("api").path("actions").asLong();
            ExecResult home = s.baton(1, "service", "relocate", "alpha", "--to", "node-1");
            assertThat(home.exitCode()).as(home.describe()).isZero();
            assertThat(s.awaitRunningOn(1, "alpha", "node-1")).as(s::startFailure).isTrue();
            assertThat(curl(s, 1, "GET", "/api/v1/status", token, null).json().path("api").path("actions").asLong())
                    .isEqualTo(actions + 1);
        });
    }

    /** The value of the one sample of {@code name} whose labels contain every one of {@code labels}. */
    static double metric(String scrape, String name, String... labels) {
        List<Double> found = new ArrayList<>();
        for (String line : scrape.split("\n")) {
            if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
                String labelPart = line.contains("{") ? line.substring(line.indexOf('{'), line.lastIndexOf('}') + 1) : "";
                if (java.util.Arrays.stream(labels).allMatch(labelPart::contains)) {
                    found.add(Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
                }
            }
        }
        assertThat(found).as(name + " " + String.join(",", labels) + " in\n" + scrape).hasSize(1);
        return found.getFirst();
    }

    static void assertRefused(Reply r, int status, String message) throws Exception {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.json().path("error").asText()).as(r.body()).contains(message);
        assertThat(r.json().path("fix").asText()).as(r.body()).isNotBlank();
    }
}
