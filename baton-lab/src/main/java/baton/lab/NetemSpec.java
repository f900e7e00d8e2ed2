package baton.lab;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * The part of tc-netem's argument language the lab can emulate without the kernel's netem
 * qdisc: {@code loss P%}, {@code delay D [JITTER]} with times in us, ms or s.
 * Anything else is refused with a message rather than ignored, so a test never runs
 * believing in an impairment it does not have.
 *
 * @param lossPercent 0 to 100, each packet is dropped independently with this probability
 * @param delay every packet is held this long ...
 * @param jitter ... plus or minus up to this much, uniformly (netem's default distribution is
 *     normal; uniform keeps the bound exact, which is what timeout tests care about)
 */
public record NetemSpec(double lossPercent, Duration delay, Duration jitter) {
    public static final NetemSpec NONE = new NetemSpec(0, Duration.ZERO, Duration.ZERO);

    public NetemSpec {
        if (!(lossPercent >= 0 && lossPercent <= 100)) {
            throw new IllegalArgumentException("loss " + lossPercent + "% is outside 0..100%");
        }
        if (delay.isNegative() || jitter.isNegative() || jitter.compareTo(delay) > 0) {
            throw new IllegalArgumentException("need 0 <= jitter <= delay, got delay " + delay + " jitter " + jitter);
        }
    }

    public static NetemSpec parse(String args) {
        List<String> words = List.of(args.strip().toLowerCase(Locale.ROOT).split("\\s+"));
        double loss = 0;
        Duration delay = Duration.ZERO;
        Duration jitter = Duration.ZERO;
        int i = 0;
        while (i < words.size()) {
            String word = words.get(i);
            switch (word) {
                case "loss" -> {
                    loss = percent(args, words, i + 1);
                    i += 2;
                }
                case "delay" -> {
                    delay = time(args, words, i + 1);
                    i += 2;
                    if (i < words.size() && startsWithDigit(words.get(i))) {
                        jitter = time(args, words, i);
                        i++;
                    }
                }
                case "" -> i++;
                default -> throw new IllegalArgumentException("netem \"" + args + "\": the lab's emulation supports only"
                        + " \"loss P%\" and \"delay D [JITTER]\", not \"" + word + "\"");
            }
        }
        return new NetemSpec(loss, delay, jitter);
    }

    public boolean none() {
        return lossPercent == 0 && delay.isZero();
    }

    private static double percent(String args, List<String> words, int at) {
        String w = word(args, words, at);
        try {
            return Double.parseDouble(w.endsWith("%") ? w.substring(0, w.length() - 1) : w);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("netem \"" + args + "\": \"" + w + "\" is not a percentage", e);
        }
    }

    private static Duration time(String args, List<String> words, int at) {
        String w = word(args, words, at);
        int unit = 0;
        while (unit < w.length() && (Character.isDigit(w.charAt(unit)) || w.charAt(unit) == '.')) {
            unit++;
        }
        try {
            double value = Double.parseDouble(w.substring(0, unit));
            double micros = switch (w.substring(unit)) {
                case "us", "usec" -> value;
                case "ms", "msec" -> value * 1_000;
                case "s", "sec", "" -> value * 1_000_000; // tc reads a bare number as seconds too
                default -> throw new IllegalArgumentException("netem \"" + args + "\": unknown time unit in \"" + w + "\"");
            };
            return Duration.ofNanos(Math.round(micros * 1_000));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("netem \"" + args + "\": \"" + w + "\" is not a time", e);
        }
    }

    private static String word(String args, List<String> words, int at) {
        if (at >= words.size()) {
            throw new IllegalArgumentException("netem \"" + args + "\": \"" + words.get(at - 1) + "\" needs a value");
        }
        return words.get(at);
    }

    private static boolean startsWithDigit(String w) {
        return !w.isEmpty() && Character.isDigit(w.charAt(0));
    }
}
