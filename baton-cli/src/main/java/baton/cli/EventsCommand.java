package baton.cli;

import baton.runtime.config.ClusterConfig;
import baton.runtime.node.ExitStatus;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "events", mixinStandardHelpOptions = true,
        description = {"The events a node logged (verdicts, fencing, coordinator changes, workloads, migrations, ...),",
                "from its API; with --follow, then each new one as it happens, until Ctrl-C."})
final class EventsCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Mixin
    ApiCommand.Target target;

    @Option(names = {"-f", "--follow"}, description = "Keep printing new events as they happen.")
    boolean follow;

    @Option(names = "--since", paramLabel = "SEQ", defaultValue = "0", description = "Only events after this number (default: all kept).")
    long since;

    @Option(names = "--json", description = "One JSON object per line.")
    boolean json;

    @Option(names = "--type", paramLabel = "TYPE", description = "Only events of these types (e.g. verdict, fenced); repeatable.")
    List<String> types = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        ClusterConfig cfg = config.load();
        ApiClient c = target.client(cfg);
        try {
            if (!follow) {
                long after = since;
                while (true) {
                    JsonNode page = c.get("/api/v1/events?since=" + after + "&limit=1000");
                    if (page.has("gap")) {
                        System.err.println("(" + page.path("gap").asText() + ")");
                    }
                    for (JsonNode e : page.path("events")) {
                        print(e);
                        after = e.path("seq").asLong();
                    }
                    if (page.path("events").size() < 1000) {
                        return ExitStatus.OK;
                    }
                }
            }
            c.stream("/api/v1/events/stream?since=" + since, e -> {
                if (e.type().equals("event")) {
                    print(DiskCommand.JSON.readTree(e.data()));
                } else if (e.type().equals("overflow")) {
                    System.err.println("(this reader fell behind; some events were skipped: 'baton events --since N' lists them)");
                }
                return true;
            });
            System.err.println("(the node ended the stream)");
            return ExitStatus.FAILURE;
        } catch (ApiClient.ApiFailure f) {
            System.err.println("HTTP " + f.status + ": " + f.getMessage());
            return ExitStatus.FAILURE;
        }
    }

    private void print(JsonNode e) {
        if (!types.isEmpty() && !types.contains(e.path("type").asText())) {
            return;
        }
        if (json) {
            System.out.println(e);
        } else {
            System.out.println(line(e));
        }
        System.out.flush();
    }

    static String line(JsonNode e) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%6d %s %-5s %-7s %s", e.path("seq").asLong(), e.path("time").asText(), e.path("level").asText(),
                e.path("node").asText(), e.path("type").asText()));
        e.path("fields").properties().forEach(f -> {
            String v = f.getValue().asText();
            b.append(' ').append(f.getKey()).append('=').append(v.contains(" ") ? "\"" + v + "\"" : v);
        });
        return b.toString();
    }
}
