package baton.lab.bmc;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The little JSON the Redfish BMC simulator reads and writes. It writes its resources from
 * templates, quoting every value with {@link #quote}; it reads one kind of request body, an
 * action's parameters, which for {@code ComputerSystem.Reset} is one string
 * ({@code {"ResetType": "ForceOff"}}). So the reader accepts exactly a JSON object whose members
 * are all strings (RFC 8259 syntax, escapes included) and refuses everything else, which a
 * caller answers with 400.
 */
final class RedfishJson {
    /** Bound on an action body: fence_redfish sends about 25 bytes. */
    static final int MAX_BODY_BYTES = 4096;

    /** Bound on the members of an action body; Reset has one parameter. */
    static final int MAX_MEMBERS = 16;

    private RedfishJson() {}

    /** {@code s} as a JSON string literal, quotes included. */
    static String quote(String s) {
        StringBuilder out = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append("\\u%04x".formatted((int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    /**
     * The members of {@code text}, a JSON object whose values are all strings, in their order.
     * Throws {@link IllegalArgumentException} naming what is wrong for any other text, for
     * duplicate names, and beyond {@link #MAX_MEMBERS} members.
     */
    static Map<String, String> parseStringMembers(String text) {
        Reader r = new Reader(text);
        Map<String, String> members = new LinkedHashMap<>();
        r.skipBlanks();
        r.expect('{');
        r.skipBlanks();
        if (!r.take('}')) {
            do {
                r.skipBlanks();
                String name = r.string();
                r.skipBlanks();
                r.expect(':');
                r.skipBlanks();
                if (r.peek() != '"') {
                    throw r.error("the value of " + quote(name) + " is not a string");
                }
                String value = r.string();
                if (members.putIfAbsent(name, value) != null) {
                    throw r.error("duplicate member " + quote(name));
                }
                if (members.size() > MAX_MEMBERS) {
                    throw r.error("more than " + MAX_MEMBERS + " members");
                }
                r.skipBlanks();
            } while (r.take(','));
            r.expect('}');
        }
        r.skipBlanks();
        if (!r.atEnd()) {
            throw r.error("text after the object");
        }
        return members;
    }

    private static final class Reader {
        private final String text;
        private int at;

        Reader(String text) {
            this.text = text;
        }

        boolean atEnd() {
            return at == text.length();
        }

        /** The next character, or -1 at the end. */
        int peek() {
            return atEnd() ? -1 : text.charAt(at);
        }

        boolean take(char c) {
            if (peek() == c) {
                at++;
                return true;
            }
            return false;
        }

        void expect(char c) {
            if (!take(c)) {
                throw error("expected '" + c + "'");
            }
        }

        /** JSON's four blanks only: space, tab, line feed, carriage return. */
        void skipBlanks() {
            while (!atEnd() && " \t\n\r".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
        }

        String string() {
            expect('"');
            StringBuilder out = new StringBuilder();
            while (true) {
                if (atEnd()) {
                    throw error("unterminated string");
                }
                char c = text.charAt(at++);
                if (c == '"') {
                    return out.toString();
                }
                if (c < 0x20) {
                    throw error("control character in a string");
                }
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                if (atEnd()) {
                    throw error("unterminated escape");
                }
                char e = text.charAt(at++);
                switch (e) {
                    case '"', '\\', '/' -> out.append(e);
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'n' -> out.append('\n');
                    case 'r' -> out.append('\r');
                    case 't' -> out.append('\t');
                    case 'u' -> {
                        if (at + 4 > text.length() || !text.substring(at, at + 4).matches("[0-9A-Fa-f]{4}")) {
                            throw error("bad \\u escape");
                        }
                        out.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                        at += 4;
                    }
                    default -> throw error("bad escape \\" + e);
                }
            }
        }

        IllegalArgumentException error(String what) {
            return new IllegalArgumentException("malformed JSON at offset " + at + ": " + what);
        }
    }
}
