package baton.lab.client;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One flat JSON object on one line: string, integer and boolean members, nothing nested. That is
 * all a {@link TransferWatch.Result} needs, and baton-lab has no JSON library on its class path
 * (the watch's process runs with this module's classes and the JDK only).
 */
final class JsonLine {
    /** A result line is a few hundred characters; a line this long is not one of ours. */
    static final int MAX_CHARS = 1 << 16;

    private JsonLine() {}

    /** {@code members} as one line, in their order; values are String, Long, Integer or Boolean. */
    static String write(Map<String, Object> members) {
        StringBuilder s = new StringBuilder("{");
        for (Map.Entry<String, Object> m : members.entrySet()) {
            if (s.length() > 1) {
                s.append(',');
            }
            quote(s, m.getKey());
            s.append(':');
            switch (m.getValue()) {
                case String v -> quote(s, v);
                case Long v -> s.append(v);
                case Integer v -> s.append(v);
                case Boolean v -> s.append(v);
                default -> throw new IllegalArgumentException("member " + m.getKey() + " is a " + m.getValue().getClass().getName()
                        + "; a JSON line holds strings, integers and booleans only");
            }
        }
        return s.append('}').toString();
    }

    /** The members of a line {@link #write} made: values are String, Long or Boolean. Throws on anything else. */
    static Map<String, Object> parse(String line) {
        if (line.length() > MAX_CHARS) {
            throw new IllegalArgumentException("a JSON line of " + line.length() + " characters is above the limit of " + MAX_CHARS);
        }
        return new Parser(line.strip()).object();
    }

    private static void quote(StringBuilder s, String v) {
        s.append('"');
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '"' -> s.append("\\\"");
                case '\\' -> s.append("\\\\");
                case '\n' -> s.append("\\n");
                case '\r' -> s.append("\\r");
                case '\t' -> s.append("\\t");
                default -> {
                    if (c < 0x20) {
                        s.append(String.format("\\u%04x", (int) c));
                    } else {
                        s.append(c);
                    }
                }
            }
        }
        s.append('"');
    }

    private static final class Parser {
        private final String text;
        private int at;

        Parser(String text) {
            this.text = text;
        }

        Map<String, Object> object() {
            Map<String, Object> members = new LinkedHashMap<>();
            expect('{');
            if (peek() == '}') {
                at++;
            } else {
                while (true) {
                    String key = string();
                    expect(':');
                    if (members.put(key, value()) != null) {
                        throw error("member " + key + " twice");
                    }
                    char c = next();
                    if (c == '}') {
                        break;
                    }
                    if (c != ',') {
                        throw error("expected ',' or '}'");
                    }
                }
            }
            if (at != text.length()) {
                throw error("text after the object");
            }
            return members;
        }

        private Object value() {
            char c = peek();
            if (c == '"') {
                return string();
            }
            if (text.startsWith("true", at)) {
                at += 4;
                return true;
            }
            if (text.startsWith("false", at)) {
                at += 5;
                return false;
            }
            int start = at;
            if (c == '-') {
                at++;
            }
            while (at < text.length() && Character.isDigit(text.charAt(at))) {
                at++;
            }
            if (at == start || (at == start + 1 && c == '-')) {
                throw error("expected a string, an integer, true or false");
            }
            try {
                return Long.parseLong(text.substring(start, at));
            } catch (NumberFormatException e) {
                throw error("integer out of range");
            }
        }

        private String string() {
            expect('"');
            StringBuilder s = new StringBuilder();
            while (true) {
                char c = next();
                if (c == '"') {
                    return s.toString();
                }
                if (c != '\\') {
                    s.append(c);
                    continue;
                }
                char e = next();
                switch (e) {
                    case '"', '\\', '/' -> s.append(e);
                    case 'n' -> s.append('\n');
                    case 'r' -> s.append('\r');
                    case 't' -> s.append('\t');
                    case 'b' -> s.append('\b');
                    case 'f' -> s.append('\f');
                    case 'u' -> {
                        if (at + 4 > text.length()) {
                            throw error("short \\u escape");
                        }
                        try {
                            s.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                        } catch (NumberFormatException x) {
                            throw error("bad \\u escape");
                        }
                        at += 4;
                    }
                    default -> throw error("bad escape \\" + e);
                }
            }
        }

        private void expect(char c) {
            if (next() != c) {
                at--;
                throw error("expected '" + c + "'");
            }
        }

        private char peek() {
            if (at >= text.length()) {
                throw error("unexpected end");
            }
            return text.charAt(at);
        }

        private char next() {
            char c = peek();
            at++;
            return c;
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException("not a flat JSON line: " + what + " at character " + at + ": " + text);
        }
    }
}
