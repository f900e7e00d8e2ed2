package baton.runtime.events;

import java.util.LinkedHashMap;
import java.util.Map;

/** Parses the {@code key=value} pairs of a log line; values may be quoted as {@code KvLog.q} quotes them. */
public final class KvFields {
    private KvFields() {}

    public static Map<String, String> parse(String line) {
        Map<String, String> out = new LinkedHashMap<>();
        int i = 0;
        int n = line.length();
        while (i < n) {
            while (i < n && line.charAt(i) == ' ') {
                i++;
            }
            int keyStart = i;
            while (i < n && line.charAt(i) != '=' && line.charAt(i) != ' ') {
                i++;
            }
            if (i >= n || line.charAt(i) != '=') {
                if (i > keyStart) {
                    out.merge("text", line.substring(keyStart, i), (a, b) -> a + " " + b);
                }
                continue;
            }
            String key = line.substring(keyStart, i);
            i++;
            StringBuilder value = new StringBuilder();
            if (i < n && line.charAt(i) == '"') {
                i++;
                while (i < n && line.charAt(i) != '"') {
                    char c = line.charAt(i);
                    if (c == '\\' && i + 1 < n) {
                        i++;
                        c = line.charAt(i);
                    }
                    value.append(c);
                    i++;
                }
                i++;
            } else {
                while (i < n && line.charAt(i) != ' ') {
                    value.append(line.charAt(i));
                    i++;
                }
            }
            out.put(key, value.toString());
        }
        return out;
    }
}
