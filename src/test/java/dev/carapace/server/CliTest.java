package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.KeyMaterial;
import dev.carapace.server.cli.Main;
import dev.carapace.store.ApiKeys.StoredKey;
import dev.carapace.store.Store;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** The {@code carapace} command line, driven through {@link Main#run} with temporary config and data folders. */
class CliTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Path EXAMPLE = Path.of("carapace.example.yaml").toAbsolutePath();

    @TempDir Path dir;
    Path data;

    record Result(int exit, String out, String err) {
        JsonNode json() {
            try {
                return JSON.readTree(out);
            } catch (IOException e) {
                throw new AssertionError("stdout is not JSON: " + out, e);
            }
        }
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit;
        try (PrintWriter o = new PrintWriter(out, true); PrintWriter e = new PrintWriter(err, true)) {
            exit = Main.run(args, o, e);
        }
        return new Result(exit, out.toString(), err.toString());
    }

    /** {@code keys ...} against the example config and this test's data folder. */
    Result keys(String... args) {
        List<String> all = new ArrayList<>(List.of("keys"));
        all.addAll(List.of(args));
        all.addAll(List.of("--config", EXAMPLE.toString(), "--data", data.toString()));
        return run(all.toArray(String[]::new));
    }

    @BeforeEach
    void setUp() {
        data = dir.resolve("data");
        assertThat(EXAMPLE).as("the example config at the repository root").isRegularFile();
    }

    /** Regression: run elsewhere with --config alone, keys create made a new ./data store the gateway never read. */
    @Test
    void withoutDataTheStoreIsBesideTheConfigFileWhereverTheCommandRuns() throws IOException {
        Path config = Files.writeString(dir.resolve("carapace.yaml"), "org: acme\nteams:\n  platform: {}\n");
        Result r = run("keys", "create", "--user", "ann", "--team", "platform", "--config", config.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        Path db = dir.resolve("data").resolve("carapace.db");
        assertThat(db).as("beside the config file, not in the folder the command ran in").isRegularFile();
        assertThat(r.out()).contains("(written to " + db + ")");
        Result listed = run("keys", "list", "--json", "--config", config.toString());
        assertThat(listed.out()).contains("\"user\":\"ann\"");
    }

    // ---- config check ----

    @Test
    void theExampleConfigChecksOk() {
        Result r = run("config", "check", EXAMPLE.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualToIgnoringNewLines("ok");
        // The example names api_key_env variables; those not set here are warnings on stderr, never errors.
        for (String env : List.of("OPENAI_API_KEY", "ANTHROPIC_API_KEY")) {
            if (System.getenv(env) == null) {
                assertThat(r.err()).contains("warning: ").contains(env);
            }
        }
        assertThat(r.err()).doesNotContain("error");
    }

    @Test
    void aBrokenConfigListsEveryProblemAsFileLineColumn() throws IOException {
        Path broken = dir.resolve("broken.yaml");
        Files.writeString(broken, """
                server:
                  port: 99999
                providers:
                  p: {kind: carrier-pigeon, base_url: http://127.0.0.1:1/v1}
                frobnicate: 1
                """);
        Result r = run("config", "check", broken.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).doesNotContain("ok");
        List<String> lines = r.err().lines().filter(l -> !l.startsWith("warning: ")).toList();
        assertThat(lines).last().asString().matches("\\d+ errors?");
        List<String> problems = lines.subList(0, lines.size() - 1);
        assertThat(problems).hasSize(Integer.parseInt(lines.get(lines.size() - 1).split(" ")[0]));
        assertThat(problems).hasSizeGreaterThanOrEqualTo(3)
                .allSatisfy(l -> assertThat(l).startsWith(broken + ":").matches(".*?:\\d+:\\d+: .+"));
        assertThat(problems).anySatisfy(l -> assertThat(l).startsWith(broken + ":2:9: server.port: ").contains("99999"));
        assertThat(problems).anySatisfy(l -> assertThat(l).startsWith(broken + ":4:13: providers.p.kind: ").contains("carrier-pigeon"));
        assertThat(problems).anySatisfy(l -> assertThat(l).startsWith(broken + ":5:1: frobnicate: "));
    }

    @Test
    void aMissingConfigFileIsAnError() {
        Path missing = dir.resolve("nope.yaml");
        Result r = run("config", "check", missing.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains(missing.toString()).contains("file not found");
    }

    @Test
    void configCheckAndServeRefuseAnAgentThatCouldRewriteTheConfigOrTheStore() throws IOException {
        Path cfg = dir.resolve("c.yaml");
        String yaml = """
                providers:
                  p: {kind: openai, base_url: http://127.0.0.1:1/v1}
                models:
                  m: {tier: mid, context_window: 1000, max_output_tokens: 100, price: {input: 1, output: 1}, deployments: [{provider: p}]}
                teams:
                  platform: {}
                agents:
                  bot: {workspace: %s, model: m, owner: {team: platform}}
                """;
        // the config in the agent's workspace
        Files.writeString(cfg, yaml.formatted("."));
        for (Result r : List.of(run("config", "check", cfg.toString(), "--data", data.toString()),
                assertTimeoutPreemptively(Duration.ofSeconds(60),
                        () -> run("serve", "--config", cfg.toString(), "--data", data.toString(), "--port", "0")))) {
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).contains(cfg + ":8:20: agents.bot.workspace: The workspace of agent 'bot' (")
                    .contains("holds the config file " + cfg.toAbsolutePath());
        }
        assertThat(data).doesNotExist();

        // the data folder in the agent's workspace (reached through a symlink)
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(cfg, yaml.formatted("ws"));
        Path into = Files.createSymbolicLink(dir.resolve("store-link"), ws).resolve("data");
        Result check = run("config", "check", cfg.toString(), "--data", into.toString());
        assertThat(check.exit()).isEqualTo(1);
        assertThat(check.err()).contains(cfg + ": --data: the data folder " + into + " (the SQLite store, its WAL and "
                + "journal) lies inside the workspace of agent 'bot' (" + ws.toAbsolutePath().normalize() + ")");
        Result serve = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> run("serve", "--config", cfg.toString(), "--data", into.toString(), "--port", "0"));
        assertThat(serve.exit()).isEqualTo(1);
        assertThat(serve.err()).contains("the data folder " + into).contains("workspace of agent 'bot'");
        assertThat(ws.resolve("data")).doesNotExist();
        // elsewhere it is fine
        assertThat(run("config", "check", cfg.toString(), "--data", data.toString()).exit()).isZero();
    }

    // ---- keys ----

    @Test
    void keysCreateListRevoke() throws Exception {
        Result created = keys("create", "--user", "alice", "--team", "platform", "--json");
        assertThat(created.exit()).as(created.err()).isZero();
        JsonNode c = created.json();
        String secret = c.get("key").asText();
        String prefix = c.get("prefix").asText();
        assertThat(prefix).matches("cpk_[A-Za-z0-9]{8}");
        assertThat(secret).startsWith(prefix + "_").hasSizeGreaterThan(prefix.length() + 20);
        assertThat(c.get("user").asText()).isEqualTo("alice");
        assertThat(c.get("team").asText()).isEqualTo("platform");
        assertThat(c.get("role").asText()).isEqualTo("member");
        assertThat(c.get("revoked_at").isNull()).isTrue();

        Result listed = keys("list", "--json");
        assertThat(listed.exit()).isZero();
        assertThat(listed.json().isArray()).isTrue();
        assertThat(listed.json()).hasSize(1);
        JsonNode k = listed.json().get(0);
        assertThat(k.get("prefix").asText()).isEqualTo(prefix);
        assertThat(k.get("user").asText()).isEqualTo("alice");
        assertThat(k.has("key")).as("a listing never carries the key").isFalse();
        assertThat(listed.out()).doesNotContain(secret).doesNotContain(secret.substring(prefix.length() + 1));

        Result table = keys("list");
        assertThat(table.exit()).isZero();
        assertThat(table.out()).contains(prefix).contains("alice").contains("active").doesNotContain(secret);

        Result revoked = keys("revoke", prefix);
        assertThat(revoked.exit()).as(revoked.err()).isZero();
        assertThat(revoked.out()).contains(prefix);
        Result again = keys("revoke", prefix);
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).contains(prefix);

        JsonNode after = keys("list", "--json").json().get(0);
        assertThat(after.get("revoked_at").isTextual()).as("revoked_at is set: %s", after).isTrue();
        assertThat(keys("list").out()).contains("revoked");
    }

    @Test
    void revokingAnUnknownPrefixFails() {
        Result r = keys("revoke", "cpk_nothing1");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("cpk_nothing1");
    }

    @Test
    void onlyTheHashIsStored() throws Exception {
        Result created = keys("create", "--user", "bob", "--team", "research", "--role", "admin", "--name", "ci", "--json");
        assertThat(created.exit()).as(created.err()).isZero();
        String secret = created.json().get("key").asText();
        String prefix = created.json().get("prefix").asText();
        String secretPart = secret.substring(prefix.length() + 1);

        Path db = data.resolve("carapace.db");
        assertThat(db).isRegularFile();
        try (Store store = Store.open("jdbc:sqlite:" + db, null, null, 1)) {
            StoredKey row = store.apiKeys().findByPrefix(prefix).orElseThrow();
            assertThat(row.hash()).isNotEqualTo(secret).isEqualTo(KeyMaterial.hash(secret)).doesNotContain(secretPart);
            assertThat(row.role()).isEqualTo("admin");
            assertThat(row.name()).isEqualTo("ci");
            assertThat(Stream.of(row.id(), row.prefix(), row.user(), row.team(), row.role(), row.name()))
                    .allSatisfy(v -> assertThat(v).doesNotContain(secretPart));
        }
        // Every byte the store wrote: the database and any journal next to it.
        List<Path> files;
        try (Stream<Path> s = Files.list(data)) {
            files = s.filter(p -> p.getFileName().toString().startsWith("carapace.db")).toList();
        }
        StringBuilder all = new StringBuilder();
        for (Path f : files) all.append(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1));
        assertThat(all.toString()).as("the files hold the key's row").contains(prefix).contains(KeyMaterial.hash(secret));
        assertThat(all.toString()).as("but never the secret").doesNotContain(secretPart).doesNotContain(secret);
    }

    @Test
    void anUnknownTeamIsRefusedNamingTheKnownOnes() {
        Result r = keys("create", "--user", "alice", "--team", "marketing");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("marketing").contains("interns, platform, research");
        assertThat(r.out()).doesNotContain("cpk_");
        assertThat(keys("list", "--json").json()).isEmpty();
    }

    @Test
    void anInvalidRoleOrUserIsRefused() {
        Result role = keys("create", "--user", "alice", "--team", "platform", "--role", "owner");
        assertThat(role.exit()).isNotZero();
        assertThat(role.err()).contains("owner");
        Result user = keys("create", "--user", "al ice", "--team", "platform");
        assertThat(user.exit()).isNotZero();
        assertThat(user.err()).contains("user");
        Result missing = keys("create", "--user", "alice");
        assertThat(missing.exit()).as("a usage error").isEqualTo(2);
        assertThat(missing.err()).contains("--team");
        assertThat(keys("list", "--json").json()).isEmpty();
    }

    // ---- models ----

    @Test
    void modelsListShowsTheExamplesModels() throws Exception {
        Result r = run("models", "list", "--config", EXAMPLE.toString(), "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> ids = new ArrayList<>();
        r.json().forEach(m -> ids.add(m.get("id").asText()));
        assertThat(ids).containsExactlyElementsOf(ConfigLoader.load(EXAMPLE).models().keySet());
        assertThat(ids).contains("llama-3.1-8b", "gpt-4o-mini", "claude-sonnet-4-5", "sonnet-fast", "claude-opus-4-1");
        JsonNode fast = null;
        for (JsonNode m : r.json()) if (m.get("id").asText().equals("sonnet-fast")) fast = m;
        assertThat(fast).isNotNull();
        assertThat(fast.get("tier").asText()).isEqualTo("high-speed");
        assertThat(fast.get("deployments").get(0).asText()).isEqualTo("anthropic/claude-sonnet-4-5");
        JsonNode llama = r.json().get(0);
        assertThat(llama.get("privacy").asText()).isEqualTo("private");
        assertThat(llama.get("deployments")).hasSize(2);

        Result table = run("models", "list", "--config", EXAMPLE.toString());
        assertThat(table.exit()).isZero();
        assertThat(table.out()).contains("MODEL").contains("sonnet-fast").contains("claude-opus-4-1");
    }

    // ---- help and usage errors ----

    @ParameterizedTest(name = "carapace {0} --help")
    @ValueSource(strings = {"", "serve", "config", "config check", "keys", "keys create", "keys list", "keys revoke",
            "models", "models list"})
    void everyCommandHasHelp(String command) {
        List<String> args = new ArrayList<>(command.isEmpty() ? List.of() : List.of(command.split(" ")));
        args.add("--help");
        Result r = run(args.toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("Usage: carapace" + (command.isEmpty() ? "" : " " + command)).contains("--help");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void unknownSubcommandsFail() {
        Result top = run("frobnicate");
        assertThat(top.exit()).isEqualTo(2);
        assertThat(top.err()).contains("frobnicate");
        Result sub = run("keys", "frobnicate", "--config", EXAMPLE.toString(), "--data", data.toString());
        assertThat(sub.exit()).isNotZero();
        assertThat(sub.err()).contains("frobnicate");
        Result option = run("models", "list", "--frobnicate");
        assertThat(option.exit()).isNotZero();
        assertThat(option.err()).contains("--frobnicate");
    }
}
