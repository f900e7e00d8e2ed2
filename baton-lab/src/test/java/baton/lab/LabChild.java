package baton.lab;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A JVM that makes a lab and then dies without closing it, for the lifecycle tests:
 * {@code exit} returns from main (the shutdown hook must clean up), {@code hang} waits to be
 * SIGKILLed (the next sweeper must clean up).
 */
public final class LabChild {
    private LabChild() {}

    public static void main(String[] args) throws Exception {
        Lab lab = Lab.create(1, false);
        lab.node(1).start(List.of("sleep", "600"), Path.of(args[1]), Map.of());
        lab.loopDevice(Path.of(args[2]), false);
        System.out.println("lab ready " + lab.tag().id());
        System.out.flush();
        if (args[0].equals("hang")) {
            Thread.sleep(600_000);
        }
    }
}
