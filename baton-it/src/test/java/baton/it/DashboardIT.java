package baton.it;

import static org.assertj.core.api.Assertions.assertThat;

import baton.lab.ExecResult;
import baton.lab.PortRelay;
import baton.runtime.api.ApiToken;
import baton.runtime.config.ApiConfig;
import baton.runtime.config.KeyFile;
import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.WebElement;

/**
 * The dashboard (docs/dashboard.md) in a real browser: Debian's headless Chromium, driven by
 * Selenium through Debian's chromedriver ({@link DashboardBrowser}), on the dashboard of a node
 * of the VE lab of {@link VeFailoverIT} (three nodes with IPMI BMCs, two VEs of the test guest
 * under TCG, the MAC watch on the switch for the whole test). The browser runs in this JVM's
 * network; it reaches node-1's API through {@link PortRelay} (the lab's addresses live in
 * its namespaces only).
 *
 * <p>One cluster for everything (it takes a minute to come up): first the sign-in page (no
 * token, a wrong token), then the cluster at a glance, the screenshot, and last a switchover
 * clicked in the page, confirmed in its dialog and followed to "nothing runs on node-1".
 */
class DashboardIT {
    static final Duration WAIT = VeFailoverIT.WAIT;
    static final List<String> VES = List.of("web1", "web2");
    /** Each guest fills this much RAM with a file, so that a migration has real pages to send... */
    static final int FILE_MIB = 16;
    /** ...at this rate, slow enough for the page to show a bar moving (QEMU sends zero pages almost for free). */
    static final int MIGRATION_MIB_PER_SECOND = 8;

    @BeforeAll
    static void buildGuest() {
        VeFailoverIT.buildGuest();
    }

    static String yaml(Map<String, String> ips) {
        StringBuilder b = new StringBuilder("ves:\n");
        int i = 0;
        for (var e : ips.entrySet()) {
            b.append(baton.cli.TestGuest.veYaml(1 + i, e.getKey(), VeFailoverIT.guestDir, 128, e.getValue(), VeFailoverIT.mac(i), "br0",
                    FILE_MIB, "    preferred: [node-1]\n    maxRestarts: 0\n    monitorIntervalMillis: 1000\n"));
            i++;
        }
        return b + "migration: {checkpointDir: @DIR@/checkpoints, maxBandwidthMiBps: " + MIGRATION_MIB_PER_SECOND + "}\n";
    }

    /** Where this module's build writes (target, or the folder -Dbaton.build.dir names): the test classes' parent. */
    static Path buildDir() throws Exception {
        return Path.of(DashboardIT.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getParent();
    }

    @Test
    void theDashboardShowsTheClusterAndASwitchoverClickedThereRunsToTheEnd() throws Exception {
        VeFailoverIT.withVes(VES, DashboardIT::yaml, 1, Map.of(), s -> {
            Files.createDirectories(s.c().dir().resolve("checkpoints"));
            for (String ve : VES) {
                assertThat(s.awaitRunningOn(1, ve)).as(s.logs()).isTrue();
            }
            String token = ApiToken.of(KeyFile.read(s.c().keyFile())).text();
            Path out = buildDir().resolve("dashboard-it");
            try (PortRelay relay = PortRelay.open(s.client(), s.c().dir().resolve("relay-node-1.sock"), s.c().host(1).address(),
                    ApiConfig.DEFAULT_PORT);
                 DashboardBrowser browser = DashboardBrowser.start(out)) {
                String base = "https://127.0.0.1:" + relay.port();
                signInPage(browser, base, token);
                atAGlance(s, browser, base, token);
                reconnects(browser, relay);
                screenshot(browser, buildDir().resolve("dashboard.png"));
                switchover(s, browser, buildDir(), token);
            }
        });
    }

    /** (a) Without the token, or with a wrong one, the page is the sign-in form (401); the form with the right one signs in. */
    static void signInPage(DashboardBrowser b, String base, String token) {
        b.open(base + "/");
        assertThat(b.driver().getTitle()).isEqualTo("Baton — sign in");
        assertThat(b.text("body")).contains("Cluster lab").contains("node node-1").contains("baton api token");
        assertThat(b.all("#nodes")).as("no dashboard without the token").isEmpty();

        b.open(base + "/?token=" + "0".repeat(token.length()));
        assertThat(b.driver().getTitle()).isEqualTo("Baton — sign in");
        assertThat(b.driver().manage().getCookieNamed("baton_token")).as("no cookie for a wrong token").isNull();
        // The API, too, refuses the browser without the cookie.
        b.open(base + "/api/v1/status");
        assertThat(b.text("body")).contains("missing or wrong API token");

        b.open(base + "/");
        b.find("#token").sendKeys(token);
        b.find("#sign-in").click();
        b.await(WAIT, "the sign-in form leads to the dashboard", d -> b.all("#nodes").size() == 1);
        assertThat(b.driver().getCurrentUrl()).as("the token is not left in the address bar").isEqualTo(base + "/");
        assertThat(b.driver().manage().getCookieNamed("baton_token")).isNotNull();
        assertThat(b.driver().manage().getCookieNamed("baton_token").isHttpOnly()).isTrue();
    }

    /** (a) Every node up, the coordinator marked, both VEs with their owner, the disk, the fence devices, events streaming. */
    static void atAGlance(VeFailoverIT.Setup s, DashboardBrowser b, String base, String token) throws Exception {
        b.open(base + "/?token=" + token); // the dashboard's link, as 'baton demo' prints it
        assertThat(b.driver().getCurrentUrl()).isEqualTo(base + "/");
        b.await(WAIT, "three nodes, all up", d -> b.all(".node-card[data-verdict='up']").size() == 3);
        b.await(WAIT, "the stream is live", d -> "live".equals(b.find("#connection").getAttribute("data-state")));
        for (int i = 1; i <= 3; i++) {
            WebElement card = b.find(".node-card[data-node='node-" + i + "']");
            WebElement verdict = card.findElement(org.openqa.selenium.By.cssSelector("[data-field='verdict']"));
            // Awaited, not asserted: on a loaded machine a verdict may flicker to suspect and back.
            b.await(WAIT, "node-" + i + "'s badge says up", d -> verdict.getText().equals("up"));
            assertThat(verdict.getAttribute("title")).as("the evidence, on hover").isNotBlank();
            assertThat(card.getAttribute("title")).startsWith("node-" + i + ": ").contains(" — ");
        }
        String holder = s.status(1).path("coordinator").path("holder").asText();
        assertThat(holder).startsWith("node-");
        b.await(WAIT, "the coordinator, " + holder + ", marked", d -> b.all(".node-card[data-coordinator='true']").size() == 1
                && holder.equals(b.find(".node-card[data-coordinator='true']").getAttribute("data-node")));
        WebElement coordinator = b.find(".node-card[data-coordinator='true']");
        assertThat(coordinator.getText()).contains("coordinator");
        assertThat(b.text("#coordinator")).startsWith("coordinator " + holder);

        for (String ve : VES) {
            b.await(WAIT, ve + " runs on node-1", d -> "node-1".equals(b.find("tr[data-workload='" + ve + "']").getAttribute("data-owner"))
                    && "running".equals(b.find("tr[data-workload='" + ve + "']").getAttribute("data-state")));
            WebElement row = b.find("tr[data-workload='" + ve + "']");
            assertThat(row.findElement(org.openqa.selenium.By.cssSelector("[data-field='kind']")).getText()).isEqualTo("ve");
            assertThat(row.findElement(org.openqa.selenium.By.cssSelector("[data-field='owner']")).getText()).isEqualTo("node-1");
            assertThat(row.findElement(org.openqa.selenium.By.cssSelector("[data-field='reason']")).getText()).isNotBlank();
        }
        assertThat(b.text(".node-card[data-node='node-1'] [data-field='runs']")).isEqualTo("web1, web2");
        assertThat(b.find("#disk dd[data-field='primary']").getText()).isEqualTo("ok");
        assertThat(b.find("#disk dd[data-field='shadow']").getText()).isEqualTo("ok");
        b.await(WAIT, "the other nodes' fence devices, monitored", d -> b.all("#fence-devices tr[data-device][data-state='ok']").size() >= 2);
        b.await(WAIT, "events in the timeline", d -> !b.all("#events li.event").isEmpty());
        assertThat(b.all("#events li.event").size()).isLessThanOrEqualTo(200);

        // The dialog's Cancel sends nothing.
        b.find("button[data-node='node-3'][data-action='fence']").click();
        b.await(Duration.ofSeconds(5), "the dialog opens", d -> b.find("#confirm-dialog").getAttribute("open") != null);
        assertThat(b.text("#confirm-title")).isEqualTo("Fence node-3?");
        b.find("#confirm-cancel").click();
        b.await(Duration.ofSeconds(5), "the dialog closes", d -> b.find("#confirm-dialog").getAttribute("open") == null);
        assertThat(b.all("#answers li")).as("nothing sent").isEmpty();
        assertThat(s.status(2).path("nodes").get(2).path("fencing").asText()).as("node-3 was not fenced").isEqualTo("idle");
    }

    /** The event stream breaks (every connection cut): the page says so, reconnects, and shows no event twice. */
    static void reconnects(DashboardBrowser b, PortRelay relay) {
        relay.dropConnections();
        b.await(Duration.ofSeconds(10), "the page notices", d -> !"live".equals(b.find("#connection").getAttribute("data-state")));
        b.await(WAIT, "the page reconnects", d -> "live".equals(b.find("#connection").getAttribute("data-state")));
        // That events flow again is seen below: the switchover's arrive in the timeline.
        @SuppressWarnings("unchecked")
        List<String> seqs = (List<String>) b.script("return [...document.querySelectorAll('#events li.event')].map(e => e.dataset.seq)");
        assertThat(seqs).as("no event twice").doesNotHaveDuplicates();
    }

    /**
     * (c) The screenshot: a PNG of the window's size (device pixels), with the colours of a drawn
     * page, not one flat colour.
     */
    static void screenshot(DashboardBrowser b, Path file) throws Exception {
        b.script("window.scrollTo(0, 0)");
        byte[] png = b.screenshot();
        Files.createDirectories(file.getParent());
        Files.write(file, png);
        assertThat(png).startsWith(0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a);
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        assertThat(image).as("a PNG ImageIO reads").isNotNull();
        @SuppressWarnings("unchecked")
        List<Number> viewport = (List<Number>) b.script("return [window.innerWidth * devicePixelRatio, window.innerHeight * devicePixelRatio]");
        assertThat(image.getWidth()).isEqualTo(viewport.get(0).intValue());
        assertThat(image.getHeight()).isEqualTo(viewport.get(1).intValue());
        assertThat(image.getWidth()).isGreaterThanOrEqualTo(1000);
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 2) {
            for (int x = 0; x < image.getWidth(); x += 2) {
                colours.add(image.getRGB(x, y));
            }
        }
        System.out.printf("DashboardIT: %s, %dx%d, %d colours%n", file, image.getWidth(), image.getHeight(), colours.size());
        assertThat(colours.size()).as("colours in " + file + " (text, badges, bars)").isGreaterThan(100);
        // The header's dark band and the verdicts' green are where the stylesheet puts them.
        assertThat(image.getRGB(5, 5) & 0xffffff).as("the header's colour").isEqualTo(0x1d2733);
    }

    /**
     * (b) Switchover of node-1 clicked in the page and confirmed in its dialog: the answer, a bar per
     * moving VE, "done: nothing runs on node-1", the VEs' new owners in the table, and the same
     * story from the cluster itself (the CLI's status, the MAC seen behind the new node's port);
     * then Resume through the dialog ends the maintenance.
     */
    static void switchover(VeFailoverIT.Setup s, DashboardBrowser b, Path shots, String token) throws Exception {
        // Meanwhile the other nodes' APIs, one of which takes no part in a migration at any time
        // (two VEs, three nodes): it must show QEMU's figures as a node taking part reported them.
        List<String> remote = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicBoolean watching = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread watcher = Thread.ofVirtual().name("operations-watch").start(() -> {
            while (watching.get()) {
                for (int i = 2; i <= 3; i++) {
                    remote.addAll(remoteProgress(s, i, token));
                }
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        try {
            switchoverInPage(s, b, shots);
        } finally {
            watching.set(false);
            watcher.join(10_000);
        }
        System.out.println("DashboardIT: progress reported by another node " + remote.stream().limit(20).toList());
        assertThat(remote).as("a node taking no part in a migration shows its progress (/api/v1/operations)").isNotEmpty();
    }

    /** What node {@code on}'s /api/v1/operations shows of migrations it takes no part in, with figures. */
    static List<String> remoteProgress(VeFailoverIT.Setup s, int on, String token) {
        ExecResult r = s.c().host(on).run(Duration.ofSeconds(5), "curl", "-sk", "--max-time", "2", "-H", "Authorization: Bearer " + token,
                "https://" + s.c().host(on).address().getHostAddress() + ":" + ApiConfig.DEFAULT_PORT + "/api/v1/operations");
        List<String> seen = new java.util.ArrayList<>();
        if (r.exitCode() != 0) {
            return seen;
        }
        try {
            for (JsonNode op : ServiceLab.JSON.readTree(r.stdout())) {
                JsonNode p = op.path("progress");
                String by = p.path("reportedBy").asText("");
                if (!by.isEmpty() && !by.equals("node-" + on) && p.path("totalBytes").asLong() > 0) {
                    seen.add("node-" + on + ": " + op.path("workload").asText() + " " + p.path("transferredBytes").asLong() + "/"
                            + p.path("totalBytes").asLong() + " bytes, as " + by + " reported " + p.path("ageMillis").asLong() + " ms ago");
                }
            }
        } catch (java.io.IOException e) {
            // Cut off mid-answer: ask again.
        }
        return seen;
    }

    static void switchoverInPage(VeFailoverIT.Setup s, DashboardBrowser b, Path shots) throws Exception {
        // Every state of every bar the page shows, recorded in the page as it changes (a bar may live for a second only).
        b.script("""
                window.batonBars = [];
                const record = () => document.querySelectorAll('progress[data-progress], progress[data-migration]').forEach(p => {
                  const entry = (p.dataset.progress || p.dataset.migration) + ' ' + (p.getAttribute('value') ?? 'indeterminate') + '/'
                      + p.getAttribute('max') + (p.offsetParent === null ? ' hidden' : ' shown');
                  if (!window.batonBars.includes(entry) && window.batonBars.length < 2000) window.batonBars.push(entry);
                });
                new MutationObserver(record).observe(document.body, {subtree: true, childList: true, attributes: true});
                """);
        Instant started = Instant.now();
        b.find("button[data-node='node-1'][data-action='switchover']").click();
        b.await(Duration.ofSeconds(5), "the dialog opens", d -> b.find("#confirm-dialog").getAttribute("open") != null);
        assertThat(b.text("#confirm-title")).isEqualTo("Switch node-1 over?");
        assertThat(b.find("#confirm-field-mode").getAttribute("value")).isEqualTo("live");
        b.find("#confirm-ok").click();
        b.await(Duration.ofSeconds(5), "the dialog closes", d -> b.find("#confirm-dialog").getAttribute("open") == null);

        b.await(WAIT, "the answer", d -> List.of("done", "pending").contains(b.find("#answers li").getAttribute("data-status")));
        WebElement answer = b.find("#answers li");
        assertThat(answer.getAttribute("data-request")).isEqualTo("switchover node-1");
        System.out.println("DashboardIT: answer " + answer.getText().replace('\n', ' '));
        b.await(WAIT, "the switchover panel", d -> !b.all("[data-switchover='node-1']").isEmpty());

        // A picture of the bars on their way, for people (docs/dashboard.md); whether they moved is checked below.
        boolean[] partial = {false};
        b.await(Duration.ofSeconds(180), "the switchover ends or a bar shows QEMU's progress", d -> {
            partial[0] = (Boolean) b.script("return [...document.querySelectorAll('li[data-migration] progress[value]')]"
                    + ".some(p => p.offsetParent !== null && Number(p.value) > 0 && Number(p.value) < Number(p.max))");
            return partial[0] || "done".equals(b.find("[data-switchover='node-1']").getAttribute("data-state"));
        });
        if (partial[0]) {
            screenshot(b, shots.resolve("dashboard-migrating.png"));
        }
        b.await(Duration.ofSeconds(180), "the switchover ends",
                d -> "done".equals(b.find("[data-switchover='node-1']").getAttribute("data-state")));
        long tookMillis = Duration.between(started, Instant.now()).toMillis();
        assertThat(b.text("[data-switchover='node-1'] [data-field='summary']")).startsWith("done: nothing runs on node-1");
        @SuppressWarnings("unchecked")
        List<String> bars = (List<String>) b.script("return window.batonBars");
        System.out.println("DashboardIT: switchover took " + tookMillis + " ms in the page; bars seen " + bars);

        Map<String, String> owners = new LinkedHashMap<>();
        for (String ve : VES) {
            WebElement row = b.find("tr[data-workload='" + ve + "']");
            b.await(WAIT, ve + "'s row shows it running elsewhere", d -> !"node-1".equals(row.getAttribute("data-owner"))
                    && "running".equals(row.getAttribute("data-state")));
            String owner = row.getAttribute("data-owner");
            assertThat(owner).isIn("node-2", "node-3");
            owners.put(ve, owner);
            assertThat(row.getText()).contains(owner);
            // The cluster agrees: the owner record, the daemon running it there.
            JsonNode w = s.workload(2, ve);
            assertThat(w.path("owner").asText()).isEqualTo(owner);
            assertThat(w.path("reason").asText()).contains("migrated live");
            assertThat(s.awaitRunningOn(Integer.parseInt(owner.substring("node-".length())), ve)).as(s.logs()).isTrue();
            // The panel kept the VE's move, with its bar full.
            WebElement line = b.find("[data-switchover='node-1'] li[data-migration='" + ve + "']");
            assertThat(line.getAttribute("data-done")).isEqualTo("true");
            assertThat(line.getText()).contains("node-1 → " + owner).contains("now on " + owner);
            // A bar for the VE was on screen while it moved: with QEMU's figures (node-1 is the source) or indeterminate.
            assertThat(bars).as("bars seen").anyMatch(e -> e.startsWith(ve + " ") && e.endsWith(" shown") && !e.contains(" 1/1 "));
        }
        assertThat(bars).as("QEMU's progress reached the page (node-1 sends)").anyMatch(e -> e.matches("\\S+ \\d+/\\d{6,} shown"));
        assertThat(b.text(".node-card[data-node='node-1'] [data-field='runs']")).isEqualTo("nothing");
        assertThat(b.find(".node-card[data-node='node-1']").getAttribute("data-maintenance")).isEqualTo("true");
        assertThat(s.status(2).path("maintenance").toString()).contains("node-1");
        // Never two owners on the wire (the fixture checks the whole test too); the first VE is now behind its new node's port.
        assertThat(s.awaitSeenOn("n" + owners.get("web1").substring("node-".length()), started)).as(s.watch().seen(VeFailoverIT.MAC)
                .toString()).isTrue();
        assertThat(s.watch().violations()).isEmpty();
        assertThat(b.all("#events li.event[data-type='migration-sent']")).as("the migrations in the timeline (after the reconnect)")
                .isNotEmpty();

        screenshot(b, shots.resolve("dashboard-switchover.png"));

        b.find("[data-switchover='node-1'] button[data-action='resume']").click();
        b.await(Duration.ofSeconds(5), "the dialog opens", d -> b.find("#confirm-dialog").getAttribute("open") != null);
        assertThat(b.find("#confirm-field-switchBack").isSelected()).isFalse();
        b.find("#confirm-ok").click();
        b.await(WAIT, "the answer to resume", d -> "resume node-1".equals(b.find("#answers li").getAttribute("data-request"))
                && "done".equals(b.find("#answers li").getAttribute("data-status")));
        b.await(WAIT, "the maintenance ends", d -> b.all("[data-switchover='node-1']").isEmpty()
                && "false".equals(b.find(".node-card[data-node='node-1']").getAttribute("data-maintenance")));
        assertThat(s.status(2).path("maintenance").toString()).doesNotContain("node-1");
    }
}
