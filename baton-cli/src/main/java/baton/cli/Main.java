package baton.cli;

import baton.runtime.node.ExitStatus;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code baton} command. */
@Command(name = "baton", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Baton: a high-availability cluster manager for QEMU virtual environments and services.",
        subcommands = {KeygenCommand.class, NodeCommand.class, DiskCommand.class, StatusCommand.class, EventsCommand.class, ApiCommand.class, FenceCommand.class,
                WorkloadCommand.Ve.class, WorkloadCommand.Service.class, DemoCommand.class,
                BenchCommand.class, SimCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof CliFailure f) {
                cmd.getErr().println("baton: " + f.getMessage());
                return f.status();
            }
            cmd.getErr().println("baton: unexpected error: " + e);
            e.printStackTrace(cmd.getErr());
            return ExitStatus.FAILURE;
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"baton " + (v == null ? "development build" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}
