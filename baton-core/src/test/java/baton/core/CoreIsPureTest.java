package baton.core;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The house rule "cores do no I/O", checked by the build: no class of baton-core reads a
 * clock, sleeps, starts threads, touches files, sockets or processes, logs, or draws
 * unseeded randomness. Time and I/O enter the cores as input records only.
 */
class CoreIsPureTest {
    private static final JavaClasses CORE = new ClassFileImporter()
            .withImportOption(location -> !location.contains("/test-classes/")) // any build directory
            .importPackages("baton.core");

    @Test
    void coreClassesWereFound() {
        assertThat(CORE.stream().map(c -> c.getName())).contains("baton.core.liveness.DiskLiveness");
    }

    @Test
    void noFilesSocketsOrProcesses() {
        ArchRule rule = noClasses().should().dependOnClassesThat().resideInAnyPackage(
                        "java.io..", "java.nio.file..", "java.nio.channels..", "java.net..", "java.lang.management..",
                        "java.util.logging..", "org.slf4j..", "java.util.concurrent..", "java.lang.ref..", "java.sql..")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.lang.Thread")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.lang.ProcessBuilder")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.lang.Runtime")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.lang.System$Logger")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.security.SecureRandom")
                .because("protocol cores do no I/O: the shell performs it and reports completions as inputs");
        rule.check(CORE);
    }

    @Test
    void noClocksOrSleeping() {
        ArchRule rule = noClasses().should().callMethod(System.class, "currentTimeMillis")
                .orShould().callMethod(System.class, "nanoTime")
                .orShould().callMethod(Thread.class, "sleep", long.class)
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.time.Clock")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.time.InstantSource")
                .orShould().callMethod(java.time.Instant.class, "now")
                .orShould().callMethod(java.time.LocalDateTime.class, "now")
                .orShould().callMethod(Math.class, "random")
                .orShould().callConstructor(java.util.Random.class)
                .orShould().accessField(System.class, "out")
                .orShould().accessField(System.class, "err")
                .because("time enters a core as a Tick input; randomness is seeded by the caller");
        rule.check(CORE);
    }
}
