package baton.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of configuration problem: each is reported with the file, the line, the key
 * and a concrete fix, and all problems of a file are reported together.
 */
class ConfigProblemsTest {
    static final Path FILE = Path.of("/etc/baton/cluster.yaml");

    /** Line numbers of this text are used throughout; keep it unchanged. */
    static final String VALID = """
            cluster:
              name: demo
              keyFile: cluster.key
            nodes:
              - id: 1
                name: node-1
                addresses: [198.18.0.1]
              - id: 2
                name: node-2
                addresses: [198.18.0.2]
            quorumDisk:
              primary: quorum.img
            timeouts:
              diskIntervalMillis: 200
            """;

    static List<Problem> problemsIn(String yaml) {
        try {
            ConfigLoader.parse(FILE, yaml);
        } catch (ConfigException e) {
            assertThat(e.getMessage()).isEqualTo(e.problems().stream().map(Problem::message)
                    .collect(Collectors.joining("\n")));
            return e.problems();
        }
        throw new AssertionError("expected problems in:\n" + yaml);
    }

    static Problem onlyProblemIn(String yaml) {
        List<Problem> problems = problemsIn(yaml);
        assertThat(problems).as("problems in:\n%s", yaml).hasSize(1);
        return problems.getFirst();
    }

    /** VALID with one line replaced (1-based), or removed when {@code text} is null. */
    static String validWithLine(int line, String text) {
        List<String> lines = new ArrayList<>(VALID.lines().toList());
        if (text == null) {
            lines.remove(line - 1);
        } else {
            lines.set(line - 1, text);
        }
        return String.join("\n", lines) + "\n";
    }

    static void assertProblem(Problem p, int line, String key, String problem, String fix) {
        assertThat(p.file()).isEqualTo(FILE);
        assertThat(p.line()).as("line of %s", p).isEqualTo(line);
        assertThat(p.key()).as("key of %s", p).isEqualTo(key);
        assertThat(p.problem()).as("problem of %s", p).contains(problem);
        assertThat(p.fix()).as("fix of %s", p).contains(fix);
        assertThat(p.message()).isEqualTo(FILE + ":" + line + ": " + key + ": " + p.problem() + "; fix: " + p.fix());
    }

    @Test
    void theValidBaseLoads() throws Exception {
        assertThat(ConfigLoader.parse(FILE, VALID).nodes()).hasSize(2);
    }

    @Test
    void theMessageIsOneLinePerProblemInTheAgreedForm() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.parse(FILE, validWithLine(2, "  nmae: demo")));

        assertThat(e.getMessage()).isEqualTo(
                "/etc/baton/cluster.yaml:2: cluster.nmae: unknown key 'nmae'; fix: did you mean 'name'?");
    }

    @Test
    void severalProblemsAreReportedAtOnceInLineOrder() {
        List<Problem> problems = problemsIn("""
                cluster:
                  name: Demo
                  keyFile: cluster.key
                nodes:
                  - id: 40
                    name: node-1
                    addresses: [node-1.example]
                    colour: blue
                quorumDisk:
                  primary: quorum.img
                timeouts:
                  missedHeartbeats: 1
                """);

        assertThat(problems).extracting(Problem::line).containsExactly(2, 5, 7, 8, 12);
        assertThat(problems).extracting(Problem::key).containsExactly("cluster.name", "nodes[0].id",
                "nodes[0].addresses[0]", "nodes[0].colour", "timeouts.missedHeartbeats");
    }

    @Nested
    class TheFile {
        @Test
        void missing(@TempDir Path dir) {
            Path file = dir.resolve("cluster.yaml");
            ConfigException e = assertThrows(ConfigException.class,
                    () -> ConfigLoader.load(file));

            assertThat(e.problems()).singleElement().satisfies(p -> {
                assertThat(p.file()).isEqualTo(file);
                assertThat(p.line()).isZero();
                assertThat(p.key()).isEqualTo(Problem.WHOLE_FILE);
                assertThat(p.problem()).contains("does not exist");
                assertThat(p.fix()).contains(file.toString());
            });
            assertThat(e.getMessage()).startsWith(file + ":0: (file): the file does not exist; fix: ");
        }

        @Test
        void aFolder(@TempDir Path dir) {
            ConfigException e = assertThrows(ConfigException.class,
                    () -> ConfigLoader.load(dir));

            assertThat(e.getMessage()).isEqualTo(dir + ":0: (file): is a folder, not a file; fix: name the"
                    + " configuration file itself, e.g. " + dir.resolve("cluster.yaml"));
        }

        @Test
        void notText(@TempDir Path dir) throws Exception {
            Path file = dir.resolve("cluster.yaml");
            Files.write(file, new byte[] {'a', ':', ' ', (byte) 0xff, (byte) 0xfe, '\n'});
            ConfigException e = assertThrows(ConfigException.class,
                    () -> ConfigLoader.load(file));

            assertThat(e.getMessage()).isEqualTo(file + ":0: (file): the file is not UTF-8 text; fix: check that this"
                    + " is the configuration file, and save it as UTF-8");
        }

        @Test
        void tooLarge(@TempDir Path dir) throws Exception {
            Path file = dir.resolve("cluster.yaml");
            Files.write(file, ("#" + "x".repeat(ConfigLoader.MAX_FILE_BYTES) + "\n").getBytes(StandardCharsets.US_ASCII));
            ConfigException e = assertThrows(ConfigException.class,
                    () -> ConfigLoader.load(file));

            assertThat(e.getMessage()).contains(file + ":0: (file): the file is larger than 1048576 bytes");
        }

        @Test
        void empty() {
            assertProblem(onlyProblemIn(""), 1, Problem.WHOLE_FILE, "the file is empty", "cluster:");
            assertProblem(onlyProblemIn("# nothing yet\n\n"), 1, Problem.WHOLE_FILE, "the file is empty", "cluster:");
        }

        @Test
        void notAMapping() {
            assertProblem(onlyProblemIn("- cluster\n- nodes\n"), 1, Problem.WHOLE_FILE,
                    "expected a mapping with the keys cluster, nodes, quorumDisk, timeouts, fenceDevices, fencing, ves, services, migration, api,"
                            + " hooks, found a list",
                    "cluster:, nodes:, quorumDisk:");
        }

        @Test
        void twoDocuments() {
            assertProblem(onlyProblemIn(VALID + "---\ncluster: {}\n"), 16, Problem.WHOLE_FILE,
                    "more than one YAML document", "remove the '---' line");
        }
    }

    @Nested
    class Syntax {
        @Test
        void aMappingValueInAValue() {
            assertProblem(onlyProblemIn(validWithLine(2, "  name: demo: x")), 2, Problem.WHOLE_FILE,
                    "invalid YAML: mapping values are not allowed here", "quote a value that contains ': '");
        }

        @Test
        void aTabForIndentation() {
            assertProblem(onlyProblemIn(validWithLine(3, "\tkeyFile: cluster.key")), 3, Problem.WHOLE_FILE,
                    "invalid YAML", "indent with spaces");
        }

        @Test
        void anUnquotedIpv6AddressInAFlowList() {
            assertProblem(onlyProblemIn(validWithLine(7, "    addresses: [::1]")), 7, Problem.WHOLE_FILE,
                    "invalid YAML", "['::1']");
        }

        @Test
        void anUnclosedBracket() {
            assertProblem(onlyProblemIn("cluster:\n  name: demo\nnodes: [\n"), 4, Problem.WHOLE_FILE,
                    "invalid YAML", "close the open quote or bracket");
        }

        @Test
        void badIndentation() {
            assertProblem(onlyProblemIn(validWithLine(10, "  addresses: [198.18.0.2]")), 10, Problem.WHOLE_FILE,
                    "invalid YAML", "indentation");
        }
    }

    @Nested
    class UnknownKeys {
        @Test
        void atTheTopLevelWithoutAlsoReportingTheKeyAsMissing() {
            assertProblem(onlyProblemIn(VALID.replace("nodes:", "nodse:")), 4, "nodse", "unknown key 'nodse'",
                    "did you mean 'nodes'?");
        }

        @Test
        void aMissingKeyIsStillReportedWhenNoUnknownKeyLooksLikeIt() {
            List<Problem> problems = problemsIn(VALID.replace("nodes:", "machines:"));

            assertThat(problems).hasSize(2);
            assertProblem(problems.get(0), 1, "nodes", "required key is missing", "at the top level");
            assertProblem(problems.get(1), 4, "machines", "unknown key 'machines'", "remove it; the top level knows only"
                    + " cluster, nodes, quorumDisk, timeouts");
        }

        @Test
        void inClusterWithADifferentCase() {
            assertProblem(onlyProblemIn(validWithLine(3, "  KEYFILE: cluster.key")), 3, "cluster.KEYFILE",
                    "unknown key 'KEYFILE'", "did you mean 'keyFile'?");
        }

        @Test
        void inANode() {
            assertProblem(onlyProblemIn(validWithLine(10, "    adresses: [198.18.0.2]")), 10,
                    "nodes[1].adresses", "unknown key 'adresses'", "did you mean 'addresses'?");
        }

        @Test
        void inQuorumDisk() {
            assertProblem(onlyProblemIn(validWithLine(12, "  primary: quorum.img\n  shadwo: shadow.img")), 13,
                    "quorumDisk.shadwo", "unknown key 'shadwo'", "did you mean 'shadow'?");
        }

        @Test
        void inTimeoutsWithNothingClose() {
            assertProblem(onlyProblemIn(validWithLine(14, "  diskIntervalMs: 200")), 14, "timeouts.diskIntervalMs",
                    "unknown key 'diskIntervalMs'", "remove it; timeouts knows only diskIntervalMillis,"
                            + " missedDiskIntervals, heartbeatIntervalMillis, missedHeartbeats");
        }
    }

    @Test
    void duplicateKeysAreReportedAtTheSecond() {
        assertProblem(onlyProblemIn(VALID.replace("  keyFile: cluster.key\n", "  keyFile: cluster.key\n  name: demo2\n")),
                4, "cluster.name",
                "duplicate key 'name' (first at line 2)", "remove one of the two");
    }

    @Test
    void aliasesAreRefused() {
        assertProblem(onlyProblemIn(VALID.replace("name: demo", "name: &n demo").replace("name: node-1", "name: *n")),
                6, "nodes[0].name", "YAML aliases (*n) are not supported", "write the value out in full");
    }

    @Nested
    class WrongTypes {
        @Test
        void aQuotedNumber() {
            assertProblem(onlyProblemIn(validWithLine(5, "  - id: \"1\"")), 5, "nodes[0].id",
                    "expected a whole number, found the text '1'", "without quotes or unit, e.g. id: 1");
        }

        @Test
        void aNumberWithAUnit() {
            assertProblem(onlyProblemIn(validWithLine(14, "  diskIntervalMillis: 200ms")), 14,
                    "timeouts.diskIntervalMillis", "expected a whole number, found the text '200ms'",
                    "e.g. diskIntervalMillis: 200");
        }

        @Test
        void aDecimalNumber() {
            assertProblem(onlyProblemIn(validWithLine(14, "  diskIntervalMillis: 200.5")), 14,
                    "timeouts.diskIntervalMillis", "expected a whole number, found the number 200.5",
                    "write a whole number");
        }

        @Test
        void aNumberThatIsNotPlainDecimal() {
            assertProblem(onlyProblemIn(validWithLine(14, "  diskIntervalMillis: 0310")), 14,
                    "timeouts.diskIntervalMillis", "'0310' is not a plain decimal number", "without leading zeros");
        }

        @Test
        void aNumberWhereTextBelongs() {
            assertProblem(onlyProblemIn(validWithLine(6, "    name: 12")), 6, "nodes[0].name",
                    "expected text, found the number 12", "quote it");
        }

        @Test
        void aBooleanWhereTextBelongs() {
            assertProblem(onlyProblemIn(validWithLine(12, "  primary: true")), 12, "quorumDisk.primary",
                    "expected text, found the boolean true", "quote it");
        }

        @Test
        void oneAddressWithoutAList() {
            assertProblem(onlyProblemIn(validWithLine(7, "    addresses: 198.18.0.1")), 7, "nodes[0].addresses",
                    "expected a list of IP addresses, found the text '198.18.0.1'", "addresses: [198.18.0.1]");
        }

        @Test
        void aListWhereASectionBelongs() {
            assertProblem(onlyProblemIn(validWithLine(12, "  - quorum.img")), 12, "quorumDisk",
                    "expected a mapping with the keys primary, shadow, found a list", "primary:");
        }

        @Test
        void aMappingWhereTheNodeListBelongs() {
            String yaml = VALID.substring(0, VALID.indexOf("nodes:")) + "nodes: {id: 1}\n"
                    + VALID.substring(VALID.indexOf("quorumDisk:"));
            assertProblem(onlyProblemIn(yaml), 4, "nodes", "expected a list of nodes, found a mapping", "'- id: 1'");
        }

        @Test
        void aListWhereOneValueBelongs() {
            assertProblem(onlyProblemIn(validWithLine(2, "  name: [demo]")), 2, "cluster.name",
                    "expected a single text value, found a list", "name: demo");
        }
    }

    @Nested
    class MissingKeys {
        @Test
        void aRequiredSection() {
            String yaml = VALID.substring(0, VALID.indexOf("quorumDisk:"));
            assertProblem(onlyProblemIn(yaml), 1, "quorumDisk", "required key is missing",
                    "add 'quorumDisk: {primary: /var/lib/baton/quorum.img}' at the top level");
        }

        @Test
        void aKeyOfASectionIsReportedAtTheSectionsLine() {
            assertProblem(onlyProblemIn(validWithLine(3, null)), 1, "cluster.keyFile", "required key is missing",
                    "add 'keyFile: cluster.key' under cluster");
        }

        @Test
        void aKeyOfANodeIsReportedAtTheNodesFirstLine() {
            assertProblem(onlyProblemIn(validWithLine(9, null)), 8, "nodes[1].name", "required key is missing",
                    "add 'name: node-1' under nodes[1]");
        }

        @Test
        void aKeyWithoutValue() {
            assertProblem(onlyProblemIn(validWithLine(3, "  keyFile:")), 3, "cluster.keyFile",
                    "required value is missing", "keyFile: cluster.key");
            assertProblem(onlyProblemIn(validWithLine(3, "  keyFile: ''")), 3, "cluster.keyFile",
                    "required value is missing", "keyFile: cluster.key");
        }

        @Test
        void anEmptySection() {
            assertProblem(onlyProblemIn(validWithLine(12, null)), 11,
                    "quorumDisk", "required value is missing", "quorumDisk: {primary: /var/lib/baton/quorum.img}");
        }
    }

    @Nested
    class OutOfRange {
        @Test
        void nodeIds() {
            assertProblem(onlyProblemIn(validWithLine(5, "  - id: 33")), 5, "nodes[0].id",
                    "must be between 1 and 32, is 33", "use a value from 1 to 32");
            assertProblem(onlyProblemIn(validWithLine(5, "  - id: 0")), 5, "nodes[0].id",
                    "must be between 1 and 32, is 0", "use a value from 1 to 32");
            assertProblem(onlyProblemIn(validWithLine(5, "  - id: 99999999999999999999999")), 5, "nodes[0].id",
                    "must be between 1 and 32", "use a value from 1 to 32");
        }

        @Test
        void aTimeoutIsReportedWithTheRuleFromTimeouts() {
            Problem p = onlyProblemIn(VALID + "  missedDiskIntervals: 2\n");
            assertProblem(p, 15, "timeouts.missedDiskIntervals", "missedDiskIntervals must be between 3 and 100",
                    "change missedDiskIntervals to a value in that range, or remove it to use the default 4");
        }

        @Test
        void aTimeoutRuleIsCheckedEvenWhenAnotherTimeoutIsUnreadable() {
            List<Problem> problems = problemsIn(validWithLine(14, "  diskIntervalMillis: fast") + "  missedHeartbeats: 2\n");

            assertThat(problems).extracting(Problem::key)
                    .containsExactly("timeouts.diskIntervalMillis", "timeouts.missedHeartbeats");
        }

        @Test
        void aTimeoutBeyondItsJavaType() {
            assertProblem(onlyProblemIn(VALID + "  missedHeartbeats: 3000000000\n"), 15, "timeouts.missedHeartbeats",
                    "must be between -2147483648 and 2147483647", "use a value from");
        }

        @Test
        void noNodes() {
            assertProblem(onlyProblemIn(VALID.substring(0, VALID.indexOf("  - id: 1")).replace("nodes:", "nodes: []")
                    + VALID.substring(VALID.indexOf("quorumDisk:"))), 4, "nodes", "the list of nodes is empty",
                    "add at least one node");
        }

        @Test
        void moreThan32Nodes() {
            String nodes = IntStream.rangeClosed(1, 33)
                    .mapToObj(i -> "  - {id: " + Math.min(i, 32) + ", name: n" + i + ", addresses: [198.18.1." + i + "]}\n")
                    .collect(Collectors.joining());
            List<Problem> problems = problemsIn("cluster: {name: demo, keyFile: k}\nnodes:\n" + nodes
                    + "quorumDisk: {primary: q}\n");

            assertThat(problems).hasSize(2);
            assertProblem(problems.get(0), 2, "nodes", "lists 33 nodes, at most 32 are supported", "remove nodes");
            assertProblem(problems.get(1), 35, "nodes[32].id", "duplicate node id 32", "give each node its own id");
        }

        @Test
        void tooManyAndTooFewAddresses() {
            assertProblem(onlyProblemIn(validWithLine(7, "    addresses: [198.18.0.1, 198.18.0.11, 198.18.0.12,"
                    + " 198.18.0.13, 198.18.0.14]")), 7, "nodes[0].addresses", "lists 5 addresses, a node needs 1 to 4",
                    "keep at most 4 addresses");
            assertProblem(onlyProblemIn(validWithLine(7, "    addresses: []")), 7, "nodes[0].addresses",
                    "lists 0 addresses", "addresses: [198.18.0.1]");
        }
    }

    @Nested
    class Duplicates {
        @Test
        void nodeIdsWithAFreeIdInTheFix() {
            assertProblem(onlyProblemIn(validWithLine(8, "  - id: 1")), 8, "nodes[1].id",
                    "duplicate node id 1, already used by nodes[0].id at line 5", "e.g. 2 is free");
        }

        @Test
        void nodeNames() {
            assertProblem(onlyProblemIn(validWithLine(9, "    name: node-1")), 9, "nodes[1].name",
                    "duplicate node name 'node-1', already used by nodes[0].name at line 6",
                    "give each node its own name");
        }

        @Test
        void addressesAcrossNodes() {
            assertProblem(onlyProblemIn(validWithLine(10, "    addresses: [198.18.0.3, 198.18.0.1]")), 10,
                    "nodes[1].addresses[1]", "duplicate address 198.18.0.1, already used by nodes[0].addresses[0] at line 7",
                    "an address identifies one node");
        }

        @Test
        void ipv6AddressesWrittenDifferently() {
            assertProblem(onlyProblemIn(validWithLine(10, "    addresses: ['fd00::1', 'fd00:0:0::0001']")), 10,
                    "nodes[1].addresses[1]", "duplicate address fd00:0:0:0:0:0:0:1", "an address identifies one node");
        }
    }

    @Nested
    class InvalidNames {
        @Test
        void aClusterNameWithCapitalsAndUnderscores() {
            assertProblem(onlyProblemIn(validWithLine(2, "  name: Demo_1")), 2, "cluster.name",
                    "'Demo_1' may contain only lowercase letters, digits and '-'", "use a name like 'demo-1'");
        }

        @Test
        void aClusterNameStartingWithADigit() {
            assertProblem(onlyProblemIn(validWithLine(2, "  name: 1demo")), 2, "cluster.name",
                    "'1demo' must start with a letter", "use a name like 'demo'");
        }

        @Test
        void aNodeNameTooLong() {
            String name = "n".repeat(64);
            assertProblem(onlyProblemIn(validWithLine(6, "    name: " + name)), 6, "nodes[0].name",
                    "is 64 characters long, at most 63 are allowed", "use a name like '" + "n".repeat(63) + "'");
        }

        @Test
        void aNodeNameWithASpace() {
            assertProblem(onlyProblemIn(validWithLine(6, "    name: node 1")), 6, "nodes[0].name",
                    "may contain only lowercase letters", "use a name like 'node-1'");
        }
    }

    @Nested
    class InvalidAddresses {
        @Test
        void aHostNameIsNotLookedUp() {
            assertProblem(onlyProblemIn(validWithLine(7, "    addresses: [localhost]")), 7, "nodes[0].addresses[0]",
                    "'localhost' is a host name, not an IP address", "Baton does not look up names");
        }

        @Test
        void anIpv4PartAbove255() {
            assertProblem(onlyProblemIn(validWithLine(7, "    addresses: [198.18.0.256]")), 7, "nodes[0].addresses[0]",
                    "'198.18.0.256' is not a valid IPv4 address", "four numbers from 0 to 255");
        }

        @Test
        void anAbbreviatedIpv4Address() {
            assertProblem(onlyProblemIn(validWithLine(7, "    addresses: ['10.1']")), 7, "nodes[0].addresses[0]",
                    "'10.1' is not an IP address", "198.18.0.1");
        }

        @Test
        void aBadIpv6Address() {
            assertProblem(onlyProblemIn(validWithLine(7, "    addresses: ['fd00::zz']")), 7, "nodes[0].addresses[0]",
                    "'fd00::zz' is not a valid IPv6 address", "fd00::1");
        }

        @Test
        void theWildcardAddress() {
            assertProblem(onlyProblemIn(validWithLine(7, "    addresses: [0.0.0.0]")), 7, "nodes[0].addresses[0]",
                    "'0.0.0.0' is a wildcard address", "write an address assigned to this node");
        }

        @Test
        void aMulticastAddress() {
            assertProblem(onlyProblemIn(validWithLine(7, "    addresses: ['ff02::1']")), 7, "nodes[0].addresses[0]",
                    "'ff02::1' is a multicast address", "write an address assigned to this node");
        }
    }

    @Nested
    class QuorumDiskPaths {
        @Test
        void aShadowEqualToThePrimaryAfterResolution() {
            assertProblem(onlyProblemIn(validWithLine(12, "  primary: quorum.img\n  shadow: ./x/../quorum.img")), 13,
                    "quorumDisk.shadow", "the shadow is the same path as the primary (/etc/baton/quorum.img)",
                    "remove 'shadow' to keep both copies in two regions of the primary");
        }

        @Test
        void theKeyFileAsAQuorumDisk() {
            assertProblem(onlyProblemIn(validWithLine(12, "  primary: /etc/baton/cluster.key")), 3, "cluster.keyFile",
                    "is also a quorum disk path", "keep the key in its own file");
        }

        @Test
        void aHomeFolderPath() {
            assertProblem(onlyProblemIn(validWithLine(12, "  primary: ~/quorum.img")), 12, "quorumDisk.primary",
                    "starts with '~', which Baton does not expand", "write the full path");
        }

        @Test
        void aPathThatCannotBeAPath() {
            assertProblem(onlyProblemIn(validWithLine(12, "  primary: \"quorum\\0.img\"")), 12, "quorumDisk.primary",
                    "is not a valid path", "primary: /var/lib/baton/quorum.img");
        }
    }

    @Test
    void aHugeUnknownKeyIsShortenedInTheReport() {
        String key = "k".repeat(500);
        Problem p = onlyProblemIn(VALID + key + ": 1\n");
        assertThat(p.message()).hasSizeLessThan(400);
        assertProblem(p, 15, "k".repeat(80) + "...", "unknown key", "remove it");
    }
}
