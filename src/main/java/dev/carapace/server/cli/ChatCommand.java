package dev.carapace.server.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code carapace chat}: talk to an agent of a running Carapace, one message or a conversation. */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = {"Talk to an agent of a running Carapace over its API: one message when MESSAGE is given, else one "
                + "message per line ('/exit' or end of input quits).",
                "Text is printed as it streams in, tool calls one line each with the result below (at most 20 lines "
                + "or 2,000 characters; what is cut is counted). Ctrl-C during a run cancels the run; at the "
                + "prompt it quits. Exit code: 0 when the (last) run completed, 1 otherwise."})
final class ChatCommand extends CliCommand implements Callable<Integer> {

    @Option(names = "--agent", paramLabel = "ID", description = "The agent (default: the only one this key may use).")
    String agent;

    @Option(names = "--session", paramLabel = "NAME", defaultValue = "main",
            description = "The session: its transcript is the conversation so far (default: main).")
    String session;

    @Option(names = "--url", paramLabel = "URL", description = "Carapace's address (default: $CARAPACE_URL, else http://127.0.0.1:8080).")
    String url;

    @Option(names = "--key", paramLabel = "KEY", description = "The API key (default: $CARAPACE_KEY).")
    String key;

    @Parameters(paramLabel = "MESSAGE", arity = "0..*", description = "The message (words are joined with spaces).")
    List<String> message;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = out();
        PrintWriter err = err();
        String k = key != null ? key : System.getenv("CARAPACE_KEY");
        if (k == null || k.isBlank()) {
            throw usageError("no API key: pass --key KEY or set CARAPACE_KEY");
        }
        String u = url != null ? url : System.getenv().getOrDefault("CARAPACE_URL", "http://127.0.0.1:8080");
        URI base;
        try {
            base = URI.create(u.endsWith("/") ? u : u + "/");
            if (base.getScheme() == null || !base.getScheme().startsWith("http")) throw new IllegalArgumentException();
        } catch (IllegalArgumentException e) {
            throw usageError("--url: expected http(s)://HOST:PORT; got '" + u + "'");
        }
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        ChatClient client = new ChatClient(http, base, k, out);
        String id = agent != null ? agent : onlyAgent(client);

        try (CtrlC ignored = CtrlC.cancelling(client)) {
            if (message != null && !message.isEmpty()) {
                return report(client.send(id, session, String.join(" ", message)), err);
            }
            BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            int exit = 0;
            while (true) {
                out.print(id + "> ");
                out.flush();
                String line = lines.readLine();
                if (line == null) {
                    out.println();
                    return exit;
                }
                line = line.strip();
                if (line.equals("/exit")) return exit;
                if (line.isEmpty()) continue;
                exit = report(client.send(id, session, line), err);   // a failed run is told; the conversation goes on
            }
        }
    }

    private String onlyAgent(ChatClient client) {
        List<String> ids = client.agents();
        if (ids.size() == 1) return ids.get(0);
        throw usageError(ids.isEmpty()
                ? "this key may use no agent (see 'carapace agents list' on the server)"
                : "several agents: " + String.join(", ", ids) + "; choose one with --agent ID");
    }

    private static int report(ChatClient.Outcome o, PrintWriter err) {
        if (o.completed()) return 0;
        err.println("error: run " + o.status() + (o.reason() == null ? "" : ": " + o.reason()));
        err.flush();
        return 1;
    }

    /**
     * Ctrl-C while a run is in progress cancels the run; otherwise it does what it did before (the JVM's handler:
     * exit). Restored when closed, so a command run in-process leaves no trace.
     */
    static final class CtrlC implements AutoCloseable {
        private static final Signal INT = new Signal("INT");
        private final SignalHandler previous;

        private CtrlC(SignalHandler previous) {
            this.previous = previous;
        }

        static CtrlC cancelling(ChatClient client) {
            SignalHandler[] before = new SignalHandler[1];
            try {
                before[0] = Signal.handle(INT, sig -> {
                    if (client.busy()) {
                        Thread.ofVirtual().start(client::cancel);   // not on the signal thread: it waits for the server
                    } else if (before[0] == SignalHandler.SIG_DFL || before[0] == SignalHandler.SIG_IGN) {
                        Runtime.getRuntime().exit(130);
                    } else {
                        before[0].handle(sig);
                    }
                });
            } catch (IllegalArgumentException unavailable) {
                return new CtrlC(null);   // e.g. the JVM runs with -Xrs: Ctrl-C keeps its default
            }
            return new CtrlC(before[0]);
        }

        @Override
        public void close() {
            if (previous != null) Signal.handle(INT, previous);
        }
    }
}
