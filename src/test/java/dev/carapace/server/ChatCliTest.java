package dev.carapace.server;

import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunStatus;
import dev.carapace.agent.TranscriptEntry;
import dev.carapace.server.cli.ChatClient;
import dev.carapace.server.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static dev.carapace.server.CliTest.EXAMPLE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@code carapace agents} against the example config, and {@code carapace chat} against a real server, in-process. */
class ChatCliTest {

    @TempDir Path dir;

    static CliTest.Result run(String stdin, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit;
        try (PrintWriter o = new PrintWriter(out, true); PrintWriter e = new PrintWriter(err, true)) {
            exit = Main.run(args, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), o, e);
        }
        return new CliTest.Result(exit, out.toString(), err.toString());
    }

    static String[] chat(GatewayHarness h, String key, String... rest) {
        String[] head = {"chat", "--url", h.url(""), "--key", key};
        String[] all = new String[head.length + rest.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(rest, 0, all, head.length, rest.length);
        return all;
    }

    @Test
    void agentsListAndShowReadTheConfig() {
        CliTest.Result list = run("", "agents", "list", "--config", EXAMPLE.toString());
        assertThat(list.exit()).as(list.err()).isZero();
        assertThat(list.out().lines().toList()).hasSize(2).last().satisfies(l -> assertThat(l.split("\\s+")).containsExactly(
                "assistant", "claude-haiku-4-5", "team:platform", "read,", "write,", "edit,", "list,", "glob,", "grep"));

        CliTest.Result json = run("", "agents", "list", "--json", "--config", EXAMPLE.toString());
        assertThat(json.json().get(0).path("fallbacks").toString()).isEqualTo("[\"gpt-4o-mini\"]");
        assertThat(json.json().get(0).path("limits").path("max_wall").asText()).isEqualTo("10m");

        CliTest.Result show = run("", "agents", "show", "assistant", "--config", EXAMPLE.toString());
        assertThat(show.exit()).as(show.err()).isZero();
        assertThat(show.out()).contains("model        claude-haiku-4-5 (fallbacks: gpt-4o-mini)")
                .contains("owner        team:platform")
                .contains("workspace    " + EXAMPLE.getParent().resolve("agents/assistant"))
                .doesNotContain("no AGENTS.md")
                .contains("limits       32 steps, 10m, 200000 tokens per run; tools 1m and 32768 bytes per call");

        CliTest.Result missing = run("", "agents", "show", "nope", "--config", EXAMPLE.toString());
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("error: no agent 'nope' (agents: assistant)");
    }

    @Test
    void oneShotChatStreamsTextAndToolCallsAndExitsZeroOnCompletion() throws Exception {
        try (AgentHarness x = new AgentHarness(dir)) {
            x.scriptReadThenAnswer();

            // alice may use one agent only: it is the default.
            CliTest.Result r = run("", chat(x.h, x.h.memberKey, "What", "is", "the", "secret", "word?"));

            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).isEqualTo("""
                    → read {"path":"notes.txt"}
                    ✓ read: the secret word is kumquat
                    kumquat
                    """);
            List<TranscriptEntry> t = x.runtime().transcript("agent:helper:main");
            assertThat(t.get(0).content().path("text").asText()).isEqualTo("What is the secret word?");
            assertThat(r.out() + r.err()).doesNotContain(x.h.memberKey);
        }
    }

    @Test
    void chatPrintedOnlyTheFirstLineOfAToolResult() throws Exception {
        try (AgentHarness x = new AgentHarness(dir)) {
            StringBuilder file = new StringBuilder();
            for (int i = 1; i <= 50; i++) file.append("line ").append(i).append(i == 3 ? " \u001b]0;owned\u0007\u001b[2J" : "").append('\n');
            java.nio.file.Files.writeString(x.workspace.resolve("long.txt"), file);
            java.nio.file.Files.writeString(x.workspace.resolve("wide.txt"), "w".repeat(5_000));
            x.h.a.enqueue(AgentHarness.toolCall("call_1", "read", "{\"path\":\"long.txt\"}"),
                    AgentHarness.toolCall("call_2", "read", "{\"path\":\"wide.txt\"}"), AgentHarness.text("read both", 160, 3));

            CliTest.Result r = run("", chat(x.h, x.h.memberKey, "read", "them"));

            assertThat(r.exit()).as(r.err()).isZero();
            List<String> out = r.out().lines().toList();
            assertThat(out.get(0)).isEqualTo("→ read {\"path\":\"long.txt\"}");
            assertThat(out.get(1)).isEqualTo("✓ read:");
            for (int i = 1; i <= 20; i++) assertThat(out.get(1 + i)).startsWith("  line " + i);
            assertThat(out.get(22)).isEqualTo("  … (30 more lines cut)");
            assertThat(r.out()).doesNotContain("line 21").doesNotContain("\u001b").doesNotContain("\u0007");
            assertThat(out.get(4)).isEqualTo("  line 3 \uFFFD]0;owned\uFFFD\uFFFD[2J");
            assertThat(out.get(23)).isEqualTo("→ read {\"path\":\"wide.txt\"}");
            assertThat(out.get(24)).isEqualTo("✓ read:");
            assertThat(out.get(25)).isEqualTo("  " + "w".repeat(2_000));
            assertThat(out.get(26)).isEqualTo("  … (3000 more characters cut)");
            assertThat(out.get(27)).isEqualTo("read both");
            // the model got the whole result: the cut is only what the terminal shows
            x.h.a.take();
            assertThat(dev.carapace.testing.ScriptedUpstream.body(x.h.a.take())).contains("line 50");
        }
    }

    @Test
    void interactiveChatSendsEachLineToTheSameSessionUntilExit() throws Exception {
        try (AgentHarness x = new AgentHarness(dir)) {
            x.h.a.enqueue(AgentHarness.text("Hello, Alice.", 10, 3), AgentHarness.text("You said hello.", 20, 4));

            CliTest.Result r = run("hello\n\nwhat did I say?\n/exit\nnever sent\n",
                    chat(x.h, x.h.memberKey, "--agent", "helper", "--session", "talk"));

            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).isEqualTo("helper> Hello, Alice.\nhelper> helper> You said hello.\nhelper> ");
            assertThat(x.runtime().transcript("agent:helper:talk")).extracting(TranscriptEntry::role)
                    .containsExactly("user", "assistant", "user", "assistant");
            assertThat(x.h.a.requestCount()).isEqualTo(2);
        }
    }

    @Test
    void aRunThatDoesNotCompleteExitsNonZeroWithItsReason() throws Exception {
        try (AgentHarness x = new AgentHarness(dir)) {
            x.h.a.enqueue(AgentHarness.slowText(List.of("a", "b", "c", "d", "e", "f", "g", "h"), 1000));
            CompletableFuture<CliTest.Result> chat = CompletableFuture.supplyAsync(() -> run("", chat(x.h, x.h.memberKey, "slowly")));
            await().atMost(Duration.ofSeconds(10)).until(() -> x.runtime().runs("agent:helper:main").stream()
                    .anyMatch(run -> run.status() == RunStatus.RUNNING));
            String runId = x.runtime().runs("agent:helper:main").getFirst().id();

            x.runtime().cancel(runId);   // as another client (or the user's Ctrl-C) would

            CliTest.Result r = chat.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).contains("error: run cancelled");
        }
    }

    @Test
    void ctrlCDuringARunCancelsTheRunThroughTheApi() throws Exception {
        try (AgentHarness x = new AgentHarness(dir)) {
            x.h.a.enqueue(AgentHarness.slowText(List.of("a", "b", "c", "d", "e", "f", "g", "h"), 1000));
            StringWriter out = new StringWriter();
            ChatClient client = new ChatClient(HttpClient.newHttpClient(), URI.create(x.h.url("/")), x.h.memberKey,
                    new PrintWriter(out, true));
            CompletableFuture<ChatClient.Outcome> sent = CompletableFuture.supplyAsync(() -> client.send("helper", "main", "slowly"));
            await().atMost(Duration.ofSeconds(10)).until(client::busy);
            await().atMost(Duration.ofSeconds(10)).until(() -> x.runtime().runs("agent:helper:main").getFirst().status()
                    == RunStatus.RUNNING);

            client.cancel();   // what the Ctrl-C handler calls while a run is in progress

            ChatClient.Outcome o = sent.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(o.status()).isEqualTo("cancelled");
            assertThat(client.busy()).isFalse();
            RunInfo run = x.runtime().run(o.runId());
            assertThat(run.status()).isEqualTo(RunStatus.CANCELLED);
        }
    }

    @Test
    void ctrlCInARealProcessCancelsTheRunAndNotTheProgram() throws Exception {
        try (AgentHarness x = new AgentHarness(dir)) {
            x.h.a.enqueue(AgentHarness.slowText(List.of("a", "b", "c", "d", "e", "f", "g", "h"), 1000));
            String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            // perl resets SIGINT to its default first: a CI runner may start the tests with it ignored (a background
            // job's lot), which the child would inherit, and which no terminal user ever has.
            List<String> command = new java.util.ArrayList<>(List.of("perl", "-e", "$SIG{INT} = 'DEFAULT'; exec @ARGV or die",
                    javaBin, "-cp", System.getProperty("java.class.path"), Main.class.getName()));
            command.addAll(List.of(chat(x.h, x.h.memberKey, "slowly")));
            Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> x.runtime().runs("agent:helper:main").stream()
                        .anyMatch(run -> run.status() == RunStatus.RUNNING));

                // What a terminal sends on Ctrl-C.
                assertThat(new ProcessBuilder("kill", "-INT", Long.toString(child.pid())).start().waitFor()).isZero();

                assertThat(child.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)).as("chat exits after the run ends").isTrue();
                String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                // Cancelled through the API and reported, not killed by the signal (which would exit 130).
                assertThat(child.exitValue()).as(output).isEqualTo(1);
                assertThat(output).contains("error: run cancelled");
                assertThat(x.runtime().runs("agent:helper:main").getFirst().status()).isEqualTo(RunStatus.CANCELLED);
            } finally {
                child.destroyForcibly();
            }
        }
    }

    @Test
    void chatExplainsWhatIsWrong() throws Exception {
        try (AgentHarness x = new AgentHarness(dir)) {
            CliTest.Result several = run("", chat(x.h, x.h.adminKey, "hi"));
            assertThat(several.exit()).isEqualTo(2);
            assertThat(several.err()).contains("several agents: helper, lab; choose one with --agent ID");

            CliTest.Result unknown = run("", chat(x.h, x.h.memberKey, "--agent", "nope", "hi"));
            assertThat(unknown.exit()).isEqualTo(1);
            assertThat(unknown.err()).contains("error: HTTP 404: No agent 'nope' (agents: helper)");

            CliTest.Result forbidden = run("", chat(x.h, x.h.researchKey, "--agent", "helper", "hi"));
            assertThat(forbidden.exit()).isEqualTo(1);
            assertThat(forbidden.err()).contains("error: HTTP 403: ").contains("may not use agent 'helper'");

            CliTest.Result badKey = run("", chat(x.h, "cpk_wrong", "--agent", "helper", "hi"));
            assertThat(badKey.exit()).isEqualTo(1);
            assertThat(badKey.err()).contains("error: HTTP 401: ").doesNotContain("cpk_wrong");
        }
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        CliTest.Result down = run("", "chat", "--url", "http://127.0.0.1:" + closed, "--key", "k", "--agent", "a", "hi");
        assertThat(down.exit()).isEqualTo(1);
        assertThat(down.err()).contains("cannot reach Carapace at http://127.0.0.1:" + closed);
    }
}
