package baton.runtime.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The dashboard's files (one page, its script and style), served from the classpath, and the login page. */
final class Dashboard {
    private static final Map<String, String> CACHE = new ConcurrentHashMap<>();

    private Dashboard() {}

    static String asset(String file) {
        return CACHE.computeIfAbsent(file, f -> {
            try (InputStream in = Dashboard.class.getResourceAsStream("dashboard/" + f)) {
                if (in == null) {
                    throw new IllegalStateException("the dashboard's " + f + " is missing from the build");
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    static String contentType(String file) {
        if (file.endsWith(".js")) {
            return "text/javascript; charset=utf-8";
        } else if (file.endsWith(".css")) {
            return "text/css; charset=utf-8";
        }
        return "text/html; charset=utf-8";
    }

    /**
     * What an unauthenticated browser gets (status 401): a form that sends the token back as
     * {@code /?token=}. Its style is inline: the stylesheet, like everything else, needs the token.
     */
    static String loginPage(String cluster, String node) {
        return """
                <!doctype html>
                <html lang="en"><head><meta charset="utf-8"><title>Baton — sign in</title>
                <style>body{font-family:system-ui,"DejaVu Sans",sans-serif;background:#f4f6f8;color:#1d2733;margin:0}
                main{max-width:40rem;margin:4rem auto;background:#fff;border:1px solid #d8dee4;border-radius:8px;padding:1.2rem 1.5rem}
                form{display:flex;gap:.5rem}input{flex:1}input,button{font:inherit;padding:.3rem .5rem}
                code{background:#eef1f4;padding:0 .2rem}</style></head>
                <body class="login"><main><h1>Baton</h1>
                <p>Cluster <b>%s</b>, node <b>%s</b>. Enter the API token (<code>baton api token</code> on a node prints it).</p>
                <form method="get" action="/"><input id="token" name="token" type="password" autocomplete="off" aria-label="API token"
                 placeholder="64 hex digits" autofocus> <button id="sign-in" type="submit">Sign in</button></form>
                </main></body></html>
                """.formatted(escape(cluster), escape(node));
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
