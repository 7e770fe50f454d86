package dev.carapace.config;

import dev.carapace.config.CarapaceConfig.Auth;
import dev.carapace.config.CarapaceConfig.Logging;
import dev.carapace.config.CarapaceConfig.Server;
import dev.carapace.config.CarapaceConfig.Store;
import dev.carapace.config.ConfigLoader.Result;
import dev.carapace.model.Access;
import dev.carapace.model.DeploymentSpec;
import dev.carapace.model.ModelKind;
import dev.carapace.model.ModelSpec;
import dev.carapace.model.Price;
import dev.carapace.model.PrivacyClass;
import dev.carapace.model.ProviderSpec;
import dev.carapace.model.RoutingPolicy;
import dev.carapace.model.WireApi;
import dev.carapace.yaml.Problem;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

class ConfigLoaderTest {

    private static final Path EXAMPLE = Path.of("carapace.example.yaml");
    private static final Function<String, String> ALL_SET = name -> "value-of-" + name;
    private static final Function<String, String> NONE_SET = name -> null;

    /** A provider and a model, so a doc is valid apart from what a test adds. Lines 1-11. */
    private static final String BASE = """
            providers:
              openai:
                kind: openai
                base_url: https://api.openai.com/v1
            models:
              gpt-4o-mini:
                tier: mid
                context_window: 128000
                max_output_tokens: 16384
                price: {input: 0.15, output: 0.60}
                deployments: [{provider: openai}]
            """;

    private static Result check(String yaml) {
        return ConfigLoader.check(yaml, "t.yaml", ALL_SET);
    }

    private static List<String> errors(String yaml) {
        return check(yaml).errors().stream().map(Problem::toString).toList();
    }

    private static List<String> warnings(String yaml, Function<String, String> env) {
        return ConfigLoader.check(yaml, "t.yaml", env).warnings().stream().map(Problem::toString).toList();
    }

    private static int lineOf(String text, String fragment) {
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].contains(fragment)) {
                return i + 1;
            }
        }
        throw new AssertionError("not in the text: " + fragment);
    }

    // ---- the example file --------------------------------------------------------------------------------------

    @Nested
    class ExampleFile {

        @Test
        void loadsWithoutErrorsOrWarningsWhenTheKeysAreSet() {
            Result r = ConfigLoader.check(EXAMPLE, ALL_SET);

            assertThat(r.errors()).isEmpty();
            assertThat(r.warnings()).isEmpty();
            assertThat(r.config()).isNotNull();
        }

        @Test
        void serverStoreOrgTiers() throws Exception {
            CarapaceConfig c = ConfigLoader.load(EXAMPLE);

            assertThat(c.server()).isEqualTo(new Server("127.0.0.1", 8080, 10L * 1024 * 1024, 0, 0, null));
            assertThat(c.store()).isEqualTo(new Store(null, null, null, 8));
            assertThat(c.org()).isEqualTo("acme");
            assertThat(c.tiers()).containsExactly("free", "mid", "high", "high-speed", "ultra");
        }

        @Test
        void providersInFileOrderWithDefaultsApplied() throws Exception {
            Map<String, ProviderSpec> providers = ConfigLoader.load(EXAMPLE).providers();

            assertThat(providers.keySet()).containsExactly("vllm", "vllm-backup", "openai", "anthropic", "local-voice");
            assertThat(providers.get("vllm")).isEqualTo(new ProviderSpec("vllm", WireApi.OPENAI,
                    URI.create("http://127.0.0.1:8000/v1"), null, Duration.ofSeconds(2), Duration.ofSeconds(300), Map.of()));
            assertThat(providers.get("vllm-backup")).isEqualTo(new ProviderSpec("vllm-backup", WireApi.OPENAI,
                    URI.create("http://127.0.0.1:8001/v1"), null, Duration.ofSeconds(5), Duration.ofSeconds(120), Map.of()));
            assertThat(providers.get("openai")).isEqualTo(new ProviderSpec("openai", WireApi.OPENAI,
                    URI.create("https://api.openai.com/v1"), "OPENAI_API_KEY", Duration.ofSeconds(5),
                    Duration.ofSeconds(120), Map.of("OpenAI-Project", "proj_carapace_demo")));
            assertThat(providers.get("anthropic")).isEqualTo(new ProviderSpec("anthropic", WireApi.ANTHROPIC,
                    URI.create("https://api.anthropic.com"), "ANTHROPIC_API_KEY", Duration.ofSeconds(5),
                    Duration.ofMinutes(10), Map.of()));
        }

        @Test
        void modelsInFileOrderWithExactPrices() throws Exception {
            Map<String, ModelSpec> models = ConfigLoader.load(EXAMPLE).models();

            assertThat(models.keySet()).containsExactly("llama-3.1-8b", "gpt-4o-mini", "claude-haiku-4-5",
                    "text-embedding-3-small", "gpt-4.1", "claude-sonnet-4-5", "sonnet-fast", "claude-opus-4-1", "whisper", "tts");
            assertThat(models.get("llama-3.1-8b")).isEqualTo(new ModelSpec("llama-3.1-8b", "free",
                    new Price(new BigDecimal("0"), new BigDecimal("0"), new BigDecimal("0")), 131072, 8192, 60,
                    PrivacyClass.PRIVATE, List.of(
                            new DeploymentSpec("vllm", "meta-llama/Llama-3.1-8B-Instruct"),
                            new DeploymentSpec("vllm-backup", "meta-llama/Llama-3.1-8B-Instruct")), ModelKind.CHAT, 1.3));
            assertThat(models.get("text-embedding-3-small")).isEqualTo(new ModelSpec("text-embedding-3-small", "mid",
                    new Price(new BigDecimal("0.02"), BigDecimal.ZERO, new BigDecimal("0.02")), 8191, 0, 0,
                    PrivacyClass.EXTERNAL, List.of(new DeploymentSpec("openai", "text-embedding-3-small")), ModelKind.EMBEDDING, 0));
            // BigDecimal.equals compares the scale too: these are the texts of the file, not doubles
            assertThat(models.get("gpt-4o-mini")).isEqualTo(new ModelSpec("gpt-4o-mini", "mid",
                    new Price(new BigDecimal("0.15"), new BigDecimal("0.60"), new BigDecimal("0.075")), 128000, 16384, 0,
                    PrivacyClass.EXTERNAL, List.of(new DeploymentSpec("openai", "gpt-4o-mini"))));
            assertThat(models.get("sonnet-fast")).isEqualTo(new ModelSpec("sonnet-fast", "high-speed",
                    new Price(new BigDecimal("15"), new BigDecimal("75"), new BigDecimal("1.50")), 200000, 64000, 150,
                    PrivacyClass.EXTERNAL, List.of(new DeploymentSpec("anthropic", "claude-sonnet-4-5"))));
            assertThat(models.values()).extracting(ModelSpec::tier)
                    .containsExactly("free", "mid", "mid", "mid", "high", "high", "high-speed", "ultra", "mid", "mid");
        }

        @Test
        void teamsRoutingAuthLogging() throws Exception {
            CarapaceConfig c = ConfigLoader.load(EXAMPLE);

            assertThat(c.teams().keySet()).containsExactly("platform", "research", "interns");
            assertThat(c.teams().get("platform").access()).isEqualTo(Access.ALL);
            assertThat(c.teams().get("research").access()).isEqualTo(new Access(Set.of("free", "mid", "high"), Set.of()));
            assertThat(c.teams().get("interns").access()).isEqualTo(new Access(Set.of("free"), Set.of("llama-3.1-8b")));
            assertThat(c.teams().get("interns").name()).isEqualTo("interns");
            assertThat(c.routing()).isEqualTo(new RoutingPolicy(3, 1, Duration.ofSeconds(30)));
            assertThat(c.auth()).isEqualTo(new Auth(Duration.ofSeconds(5)));
            assertThat(c.logging()).isEqualTo(new Logging(false));
        }

        @Test
        void unsetKeyVariablesAreWarningsAtTheirLines() throws Exception {
            String text = Files.readString(EXAMPLE);
            Result r = ConfigLoader.check(EXAMPLE, NONE_SET);

            assertThat(r.errors()).isEmpty();
            assertThat(r.config()).isNotNull();
            assertThat(r.warnings()).extracting(Problem::line, Problem::path, Problem::message).containsExactly(
                    tuple(lineOf(text, "api_key_env: OPENAI_API_KEY"),
                            "providers.openai.api_key_env", "environment variable OPENAI_API_KEY is not set"),
                    tuple(lineOf(text, "api_key_env: ANTHROPIC_API_KEY"),
                            "providers.anthropic.api_key_env", "environment variable ANTHROPIC_API_KEY is not set"));
        }
    }

    // ---- values and defaults -----------------------------------------------------------------------------------

    @Test
    void aMinimalFileGetsEveryDefault() throws Exception {
        CarapaceConfig c = ConfigLoader.load(BASE, "t.yaml");

        assertThat(c.server()).isEqualTo(Server.DEFAULT);
        assertThat(c.store()).isEqualTo(Store.DEFAULT);
        assertThat(c.org()).isEqualTo("default");
        assertThat(c.tiers()).isEqualTo(CarapaceConfig.DEFAULT_TIERS);
        assertThat(c.teams()).isEmpty();
        assertThat(c.routing()).isEqualTo(RoutingPolicy.DEFAULT);
        assertThat(c.auth()).isEqualTo(Auth.DEFAULT);
        assertThat(c.logging()).isEqualTo(Logging.DEFAULT);
        ProviderSpec p = c.providers().get("openai");
        assertThat(p.apiKeyEnv()).isNull();
        assertThat(p.connectTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(p.readTimeout()).isEqualTo(Duration.ofSeconds(120));
        assertThat(p.headers()).isEmpty();
        ModelSpec m = c.models().get("gpt-4o-mini");
        assertThat(m.privacy()).isEqualTo(PrivacyClass.EXTERNAL);
        assertThat(m.speedTarget()).isZero();
        assertThat(m.price()).isEqualTo(new Price(new BigDecimal("0.15"), new BigDecimal("0.60"), new BigDecimal("0.15")));
        assertThat(m.deployments()).containsExactly(new DeploymentSpec("openai", "gpt-4o-mini"));
    }

    @Test
    void pricesKeepTheirDecimalTextExactly() throws Exception {
        Price price = ConfigLoader.load(BASE.replace("{input: 0.15, output: 0.60}",
                "{input: 0.1, output: 1_000.25, cached_input: 0.075}"), "t.yaml").models().get("gpt-4o-mini").price();

        assertThat(price.input()).isEqualTo(new BigDecimal("0.1")).isNotEqualTo(new BigDecimal(0.1));
        assertThat(price.output()).isEqualTo(new BigDecimal("1000.25"));
        assertThat(price.cachedInput()).isEqualTo(new BigDecimal("0.075"));
    }

    @ParameterizedTest
    @CsvSource({"1048576, 1048576", "512KiB, 524288", "10MiB, 10485760", "1GiB, 1073741824", "2KB, 2000",
            "1GB, 1000000000", "3 MB, 3000000", "10mib, 10485760"})
    void sizes(String text, long bytes) throws Exception {
        CarapaceConfig c = ConfigLoader.load("server: {max_body_bytes: " + text + "}\n" + BASE, "t.yaml");

        assertThat(c.server().maxBodyBytes()).isEqualTo(bytes);
    }

    @Test
    void connectionCapsDefaultToDerivedAndTakeAPositiveCount() throws Exception {
        CarapaceConfig c = ConfigLoader.load("server: {max_connections: 500, max_upstream_connections: 300}\n" + BASE,
                "t.yaml");

        assertThat(c.server().maxConnections()).isEqualTo(500);
        assertThat(c.server().maxUpstreamConnections()).isEqualTo(300);
        assertThat(ConfigLoader.load(BASE, "t.yaml").server().maxUpstreamConnections()).isZero();   // derived
        assertThat(errors("server: {max_upstream_connections: 0}\n" + BASE)).singleElement().asString()
                .contains("server.max_upstream_connections: must be between 1 and 1000000");
    }

    @ParameterizedTest
    @CsvSource({"250ms, 250", "5s, 5000", "2m, 120000", "1h, 3600000", "0s, 0"})
    void durations(String text, long millis) throws Exception {
        CarapaceConfig c = ConfigLoader.load("routing: {cooldown: " + text + "}\nauth: {key_cache_ttl: " + text + "}\n"
                + BASE, "t.yaml");

        assertThat(c.routing().cooldown()).isEqualTo(Duration.ofMillis(millis));
        assertThat(c.auth().keyCacheTtl()).isEqualTo(Duration.ofMillis(millis));
    }

    @Test
    void emptySectionsMeanDefaults() throws Exception {
        CarapaceConfig c = ConfigLoader.load("server:\nrouting: {}\nteams:\n  ops:\n" + BASE, "t.yaml");

        assertThat(c.server()).isEqualTo(Server.DEFAULT);
        assertThat(c.routing()).isEqualTo(RoutingPolicy.DEFAULT);
        assertThat(c.teams().get("ops").access()).isEqualTo(Access.ALL);
    }

    @Test
    void customTiersAndPostgresStore() throws Exception {
        CarapaceConfig c = ConfigLoader.load("""
                tiers: [cheap, mid]
                store:
                  url: jdbc:postgresql://db:5432/carapace
                  user_env: PGUSER
                  password_env: PGPASSWORD
                  pool_size: 16
                """ + BASE, "t.yaml");

        assertThat(c.tiers()).containsExactly("cheap", "mid");
        assertThat(c.store()).isEqualTo(new Store("jdbc:postgresql://db:5432/carapace", "PGUSER", "PGPASSWORD", 16));
    }

    @Test
    void baseUrlLosesItsTrailingSlashAndHeadersAreKept() throws Exception {
        ProviderSpec p = ConfigLoader.load(BASE.replace("https://api.openai.com/v1", """
                http://10.0.0.5:8000/v1/
                    headers: {X-Org: acme, OpenAI-Project: p1}"""), "t.yaml").providers().get("openai");

        assertThat(p.baseUrl()).isEqualTo(URI.create("http://10.0.0.5:8000/v1"));
        assertThat(p.headers()).isEqualTo(Map.of("X-Org", "acme", "OpenAI-Project", "p1"));
    }

    // ---- each kind of error, with its position -----------------------------------------------------------------

    @Test
    void wrongType() {
        assertThat(errors("""
                server:
                  host: 127.0.0.1
                  port: abc
                logging: {json: yes}
                """ + BASE)).containsExactly(
                "t.yaml:3:9: server.port: expected a whole number, got 'abc'",
                "t.yaml:4:17: logging.json: expected true or false, got 'yes'");
    }

    @Test
    void wrongStructure() {
        assertThat(errors("""
                server: 8080
                routing:
                  - max_attempts: 2
                tiers: free
                """ + BASE)).containsExactly(
                "t.yaml:1:9: server: expected a mapping (key: value lines), got '8080'",
                "t.yaml:3:3: routing: expected a mapping (key: value lines), got a list",
                "t.yaml:4:8: tiers: expected a list of tier names, got 'free'");
    }

    @Test
    void outOfRange() {
        assertThat(errors("""
                server: {port: 70000, max_body_bytes: 0}
                routing:
                  max_attempts: 0
                  failure_threshold: 101
                """ + BASE)).containsExactly(
                "t.yaml:1:16: server.port: must be between 1 and 65535, got 70000",
                "t.yaml:1:39: server.max_body_bytes: must be between 1 and 2147483647 bytes, got 0",
                "t.yaml:3:17: routing.max_attempts: must be between 1 and 10, got 0",
                "t.yaml:4:22: routing.failure_threshold: must be between 1 and 100, got 101");
    }

    @Test
    void badDurationsAndSizes() {
        assertThat(errors("""
                routing: {cooldown: 30}
                auth: {key_cache_ttl: 1.5s}
                server: {max_body_bytes: 10XB}
                """ + BASE)).containsExactly(
                "t.yaml:1:21: routing.cooldown: expected a duration like 250ms, 5s, 2m or 1h, got '30' (add a unit: ms, s, m or h)",
                "t.yaml:2:23: auth.key_cache_ttl: expected a duration like 250ms, 5s, 2m or 1h, got '1.5s'",
                "t.yaml:3:26: server.max_body_bytes: expected a size in bytes like 1048576, 512KiB, 10MiB or 1GB, got '10XB'");
    }

    @Test
    void unknownEnumValueListsTheAllowedOnes() {
        assertThat(errors(BASE.replace("kind: openai", "kind: OpenAI").replace("tier: mid", "tier: mid\n    privacy: secret-ish")))
                .containsExactly(
                        "t.yaml:3:11: providers.openai.kind: unknown value 'OpenAI' (expected one of: openai, anthropic, openai-responses, espeak)",
                        "t.yaml:8:14: models.gpt-4o-mini.privacy: unknown value 'secret-ish' (expected one of: private, external)");
    }

    @Test
    void approvalsTimeoutDefaultsAndIsChecked() {
        assertThat(check(BASE).config().approvals().timeout()).isEqualTo(java.time.Duration.ofMinutes(5));
        assertThat(check(BASE + "approvals: {timeout: 90s}\n").config().approvals().timeout())
                .isEqualTo(java.time.Duration.ofSeconds(90));
        assertThat(errors(BASE + "approvals: {timeout: 10}\n")).singleElement().asString()
                .contains("approvals.timeout: expected a duration like 250ms, 5s, 2m or 1h").contains("add a unit");
        assertThat(errors(BASE + "approvals: {timout: 1m}\n")).singleElement().asString()
                .contains("unknown key 'timout' (expected one of: timeout)");
    }

    @Test
    void unknownKeyListsTheExpectedOnes() {
        assertThat(errors("""
                server:
                  hots: 0.0.0.0
                loging: {json: true}
                """ + BASE)).containsExactly(
                "t.yaml:2:3: server.hots: unknown key 'hots' (expected one of: host, port, max_body_bytes, max_connections, "
                        + "max_upstream_connections, metrics_token_env)",
                "t.yaml:3:1: loging: unknown key 'loging' (expected one of: server, store, org, tiers, providers, models, "
                        + "teams, routing, auth, logging, alerts, tools, guard, agents, secrets, approvals, privacy, responses, scheduler, jobs, skills, voice, channels, identities)");
    }

    @Test
    void missingRequiredKeysAreReportedAtTheParentMapping() {
        assertThat(errors("""
                providers:
                  openai:
                    kind: openai
                models:
                  m1:
                    tier: mid
                    context_window: 1000
                    max_output_tokens: 100
                    price: {output: 1}
                    deployments:
                      - model: x
                """)).containsExactly(
                "t.yaml:2:3: providers.openai: missing required key 'base_url' (an absolute http(s) URL like https://api.openai.com/v1)",
                "t.yaml:9:5: models.m1.price: missing required key 'input' (a decimal number)",
                "t.yaml:11:9: models.m1.deployments[0]: missing required key 'provider' (the name of a provider)");
    }

    @Test
    void aModelWithNothingButATierReportsEachMissingKey() {
        assertThat(errors(BASE + """
                  m2:
                    tier: mid
                """)).containsExactly(
                "t.yaml:12:3: models.m2: missing required key 'context_window' (a whole number)",
                "t.yaml:12:3: models.m2: missing required key 'max_output_tokens' (a whole number)",
                "t.yaml:12:3: models.m2: missing required key 'price' (USD per million tokens: {input: ..., output: ...})",
                "t.yaml:12:3: models.m2: missing required key 'deployments' (a list of deployments, each '- provider: NAME')");
    }

    @Test
    void aKeyWithoutValueIsMissing() {
        assertThat(errors(BASE.replace("kind: openai", "kind:"))).containsExactly(
                "t.yaml:3:5: providers.openai.kind: missing value for 'kind' (expected one of: openai, anthropic, openai-responses, espeak)");
    }

    @Test
    void emptyStringsAreRefused() {
        assertThat(errors("server: {host: \"\"}\n" + BASE)).containsExactly(
                "t.yaml:1:16: server.host: must not be empty (expected a host name or IP address to listen on)");
    }

    @Test
    void crossReferences() {
        assertThat(errors(BASE.replace("tier: mid", "tier: gold").replace("{provider: openai}", "{provider: opnai}")
                + """
                teams:
                  research:
                    tiers: [free, platinum]
                    models: [gpt-4o-mini, gpt-5]
                """)).containsExactly(
                "t.yaml:7:11: models.gpt-4o-mini.tier: unknown tier 'gold' (known tiers: free, mid, high, high-speed, ultra)",
                "t.yaml:11:30: models.gpt-4o-mini.deployments[0].provider: unknown provider 'opnai' (known providers: openai)",
                "t.yaml:14:19: teams.research.tiers: unknown tier 'platinum' (known tiers: free, mid, high, high-speed, ultra)",
                "t.yaml:15:27: teams.research.models: unknown model 'gpt-5' (known models: gpt-4o-mini)");
    }

    @Test
    void referenceToAProviderWhenThereAreNone() {
        assertThat(errors("""
                models:
                  m:
                    tier: free
                    context_window: 10
                    max_output_tokens: 10
                    price: {input: 0, output: 0}
                    deployments:
                      - provider: local
                """)).containsExactly(
                "t.yaml:8:19: models.m.deployments[0].provider: unknown provider 'local' (no providers are configured)");
    }

    @Test
    void duplicateKeys() {
        assertThat(errors("""
                server:
                  port: 8080
                  port: 9090
                """ + BASE + """
                  gpt-4o-mini:
                    tier: high
                """)).containsExactly(
                "t.yaml:3:3: server.port: duplicate key 'port' (first given at line 2)",
                "t.yaml:15:3: models.gpt-4o-mini: duplicate key 'gpt-4o-mini' (first given at line 9)");
    }

    @Test
    void maxOutputTokensMustFitTheContextWindow() {
        assertThat(errors(BASE.replace("max_output_tokens: 16384", "max_output_tokens: 200000"))).containsExactly(
                "t.yaml:9:24: models.gpt-4o-mini.max_output_tokens: must not be more than context_window (128000), got 200000");
    }

    @Test
    void embeddingModelsHaveNoOutputAndNeedOpenAiProviders() {
        String embedding = BASE + """
                  embed:
                    kind: embedding
                    tier: mid
                    context_window: 8191
                    price: {input: 0.02}
                    deployments: [{provider: openai}]
                """;
        assertThat(errors(embedding)).isEmpty();
        assertThat(check(embedding).config().models().get("embed").kind()).isEqualTo(ModelKind.EMBEDDING);
        assertThat(errors(embedding.replace("    context_window: 8191\n", "    context_window: 8191\n    max_output_tokens: 10\n")))
                .containsExactly("t.yaml:16:24: models.embed.max_output_tokens: an embedding model produces no output tokens; remove it");
        assertThat(errors(embedding.replace("kind: embedding", "kind: vectors")))
                .contains("t.yaml:13:11: models.embed.kind: unknown value 'vectors' (expected one of: chat, embedding, transcription, speech)");
        assertThat(errors(embedding.replace("    kind: openai\n    base_url: https://api.openai.com/v1\n",
                "    kind: anthropic\n    base_url: https://api.anthropic.com\n")))
                .anySatisfy(e -> assertThat(e).contains("models.embed.deployments: provider 'openai' is of kind anthropic,"
                        + " which serves no embeddings"));
    }

    @Test
    void aTokenizerFactorIsFromOneToTen() {
        assertThat(check(BASE.replace("tier: mid", "tier: mid\n    tokenizer_factor: 1.5")).config().models()
                .get("gpt-4o-mini").tokenizerFactor()).isEqualTo(1.5);
        assertThat(errors(BASE.replace("tier: mid", "tier: mid\n    tokenizer_factor: 0.5"))).containsExactly(
                "t.yaml:8:23: models.gpt-4o-mini.tokenizer_factor: must be from 1 to 10 (this model's tokens per o200k"
                + " token, for budget reservations), got 0.5");
    }

    @Test
    void pricesAndSpeedMustBeValidNumbers() {
        assertThat(errors(BASE.replace("{input: 0.15, output: 0.60}", "{input: abc, output: -1}")
                .replace("tier: mid", "tier: mid\n    speed_target: 0"))).containsExactly(
                "t.yaml:8:19: models.gpt-4o-mini.speed_target: must be greater than 0 (leave it out for none), got 0",
                "t.yaml:11:20: models.gpt-4o-mini.price.input: expected a decimal number, got 'abc'",
                "t.yaml:11:33: models.gpt-4o-mini.price.output: must not be negative, got -1");
    }

    @Test
    void namesAndIds() {
        assertThat(errors("""
                org: Acme
                tiers: [free, mid, free, "Top Tier"]
                teams:
                  Research: {}
                """ + BASE + """
                  tier:mid:
                    tier: mid
                """)).containsExactly(
                "t.yaml:1:6: org: invalid organisation name 'Acme' (expected lowercase letters, digits, '_' and '-', "
                        + "starting with a letter or digit, at most 63 characters)",
                "t.yaml:2:20: tiers: tier 'free' is listed twice (first at line 2)",
                "t.yaml:2:26: tiers: invalid tier name 'Top Tier' (expected lowercase letters, digits, '_' and '-', "
                        + "starting with a letter or digit, at most 63 characters)",
                "t.yaml:4:3: teams.Research: invalid team name 'Research' (expected lowercase letters, digits, '_' and '-', "
                        + "starting with a letter or digit, at most 63 characters)",
                "t.yaml:16:3: models[\"tier:mid\"]: a model id must not start with 'tier:' (clients use tier:NAME to ask "
                        + "for a whole tier)",
                "t.yaml:16:3: models[\"tier:mid\"]: missing required key 'context_window' (a whole number)",
                "t.yaml:16:3: models[\"tier:mid\"]: missing required key 'max_output_tokens' (a whole number)",
                "t.yaml:16:3: models[\"tier:mid\"]: missing required key 'price' (USD per million tokens: {input: ..., output: ...})",
                "t.yaml:16:3: models[\"tier:mid\"]: missing required key 'deployments' (a list of deployments, each '- provider: NAME')");
    }

    @Test
    void modelIdsWithDotsAreBracketedInPaths() {
        assertThat(errors(BASE.replace("gpt-4o-mini:", "gpt-4.1:").replace("tier: mid", "tier: nope")))
                .containsExactly("t.yaml:7:11: models[\"gpt-4.1\"].tier: unknown tier 'nope' (known tiers: free, mid, high, "
                        + "high-speed, ultra)");
    }

    @Test
    void emptyListsThatMustNotBeEmpty() {
        assertThat(errors("tiers: []\n" + BASE.replace("deployments: [{provider: openai}]", "deployments: []")))
                .containsExactly(
                        "t.yaml:1:8: tiers: must name at least one tier (leave the key out for the default tiers: free, mid, "
                                + "high, high-speed, ultra)",
                        "t.yaml:8:11: models.gpt-4o-mini.tier: unknown tier 'mid' (no tiers are configured)",
                        "t.yaml:12:18: models.gpt-4o-mini.deployments: must list at least one deployment ('- provider: NAME')");
    }

    @Test
    void baseUrlAndStoreUrlChecks() {
        assertThat(errors("""
                store: {url: "jdbc:mysql://db/carapace"}
                providers:
                  a: {kind: openai, base_url: api.openai.com}
                  b: {kind: openai, base_url: "ftp://files.example.com"}
                  c: {kind: openai, base_url: "http://h:8000/v1?x=1"}
                """)).containsExactly(
                "t.yaml:1:14: store.url: expected a JDBC URL starting with jdbc:sqlite: or jdbc:postgresql:, got "
                        + "'jdbc:mysql://db/carapace'",
                "t.yaml:3:31: providers.a.base_url: expected an absolute http(s) URL like https://api.openai.com/v1, got "
                        + "'api.openai.com'",
                "t.yaml:4:31: providers.b.base_url: expected an absolute http(s) URL like https://api.openai.com/v1, got "
                        + "'ftp://files.example.com'",
                "t.yaml:5:31: providers.c.base_url: must not have a query (?...) or fragment (#...); request paths are "
                        + "appended to it");
    }

    @Test
    void headerRules() {
        assertThat(errors(BASE.replace("base_url: https://api.openai.com/v1", """
                base_url: https://api.openai.com/v1
                    headers:
                      Host: example.com
                      X-Trace: on
                      x-trace: off
                      X-List: [a]
                      "Bad Name": x""")))
                .containsExactly(
                        "t.yaml:6:7: providers.openai.headers.Host: header 'Host' is set by Carapace for each request and "
                                + "cannot be configured",
                        "t.yaml:8:7: providers.openai.headers.x-trace: header 'x-trace' is already given at line 7 "
                                + "(header names ignore case)",
                        "t.yaml:9:15: providers.openai.headers.X-List: expected the header's value as text, got a list",
                        "t.yaml:10:7: providers.openai.headers[\"Bad Name\"]: invalid header name 'Bad Name'");
    }

    @Test
    void yamlAliasesAndSecondDocumentsAreRefused() {
        assertThat(errors("""
                routing: &r {max_attempts: 2}
                auth: *r
                ---
                org: other
                """)).containsExactly(
                "t.yaml:2:7: auth: YAML aliases (*r) are not supported; write the value out in full",
                "t.yaml:4:1: a second YAML document starts here; the config is one document");
    }

    // ---- all problems at once ----------------------------------------------------------------------------------

    @Test
    void everyProblemInTheFileIsReportedInFileOrder() {
        Result r = check("""
                server:
                  port: -1
                org: "ACME corp"
                providers:
                  openai:
                    kind: grpc
                    base_url: https://api.openai.com/v1
                    read_timeout: forever
                models:
                  m:
                    tier: mid
                    context_window: lots
                    max_output_tokens: 10
                    price: {input: 1, output: 2, cahced_input: 1}
                    deployments:
                      - provider: nobody
                routing: {cooldown: soon}
                """);

        assertThat(r.config()).isNull();
        assertThat(r.errors()).extracting(Problem::line, Problem::path).containsExactly(
                tuple(2, "server.port"),
                tuple(3, "org"),
                tuple(6, "providers.openai.kind"),
                tuple(8, "providers.openai.read_timeout"),
                tuple(12, "models.m.context_window"),
                tuple(14, "models.m.price.cahced_input"),
                tuple(16, "models.m.deployments[0].provider"),
                tuple(17, "routing.cooldown"));
    }

    @Test
    void loadThrowsWithEveryProblemOnePerLine() {
        String yaml = "server: {port: 0}\nlogging: {json: maybe}\n" + BASE;

        assertThatThrownBy(() -> ConfigLoader.load(yaml, "conf/carapace.yaml"))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.problems()).hasSize(2);
                    assertThat(e.getMessage()).isEqualTo("""
                            conf/carapace.yaml:1:16: server.port: must be between 1 and 65535, got 0
                            conf/carapace.yaml:2:17: logging.json: expected true or false, got 'maybe'""");
                });
    }

    // ---- secrets -----------------------------------------------------------------------------------------------

    @Test
    void secretKeysAreRefusedAnywhereWithoutShowingTheValue() {
        Result r = check("""
                api_key: sk-root-123
                store:
                  url: jdbc:postgresql://db/carapace
                  Password: hunter2
                providers:
                  openai:
                    kind: openai
                    base_url: https://api.openai.com/v1
                    API_KEY: sk-live-456
                models:
                  gpt-4o-mini:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 16384
                    price: {input: 0.15, output: 0.60}
                    deployments:
                      - provider: openai
                        auth_token: tok-789
                """);

        assertThat(r.errors()).extracting(Problem::toString).containsExactly(
                "t.yaml:1:1: api_key: secrets are not written in the config; put the value in an environment variable",
                "t.yaml:4:3: store.Password: secrets are not written in the config; put the value in an environment "
                        + "variable and name it with password_env",
                "t.yaml:9:5: providers.openai.API_KEY: secrets are not written in the config; put the value in an "
                        + "environment variable and name it with api_key_env",
                "t.yaml:18:9: models.gpt-4o-mini.deployments[0].auth_token: secrets are not written in the config; put "
                        + "the value in an environment variable");
        assertThat(r.errors().toString()).doesNotContain("sk-root-123", "hunter2", "sk-live-456", "tok-789");
    }

    @Test
    void secretHeadersAreRefused() {
        List<String> errors = errors(BASE.replace("base_url: https://api.openai.com/v1", """
                base_url: https://api.openai.com/v1
                    headers:
                      Authorization: Bearer sk-123
                      X-API-Key: sk-456
                      api-key: sk-789
                      X-Visible: fine"""));

        assertThat(errors).containsExactly(
                "t.yaml:6:7: providers.openai.headers.Authorization: secrets are not written in the config; put the value "
                        + "in an environment variable and name it with api_key_env; the provider sends the key in the "
                        + "header its API expects",
                "t.yaml:7:7: providers.openai.headers.X-API-Key: secrets are not written in the config; put the value "
                        + "in an environment variable and name it with api_key_env; the provider sends the key in the "
                        + "header its API expects",
                "t.yaml:8:7: providers.openai.headers.api-key: secrets are not written in the config; put the value "
                        + "in an environment variable and name it with api_key_env; the provider sends the key in the "
                        + "header its API expects");
    }

    @Test
    void secretsInsideUrlsAreRefused() {
        assertThat(errors("""
                store: {url: "jdbc:postgresql://db/carapace?user=app&password=hunter2"}
                providers:
                  p: {kind: openai, base_url: "https://user:pw@proxy.example.com/v1"}
                """)).containsExactly(
                "t.yaml:1:14: store.url: secrets are not written in the config; put the value in an environment variable "
                        + "and name it with password_env",
                "t.yaml:3:31: providers.p.base_url: secrets are not written in the config; put the value in an "
                        + "environment variable and name it with api_key_env");
    }

    @Test
    void anEnvKeyHoldingAValueInsteadOfANameIsRefusedWithoutShowingIt() {
        List<String> errors = errors(BASE.replace("base_url: https://api.openai.com/v1",
                "base_url: https://api.openai.com/v1\n    api_key_env: sk-proj-abcdef"));

        assertThat(errors).containsExactly("t.yaml:5:18: providers.openai.api_key_env: expected the NAME of an environment "
                + "variable (capital letters, digits and '_', like OPENAI_API_KEY), not its value");
    }

    @Test
    void namesOfProvidersAndModelsAreNotMistakenForSecrets() throws Exception {
        CarapaceConfig c = ConfigLoader.load(BASE.replace("  openai:", "  token:").replace("{provider: openai}", "{provider: token}") + """
                teams:
                  secret: {}
                """, "t.yaml");

        assertThat(c.providers()).containsKey("token");
        assertThat(c.teams()).containsKey("secret");
    }

    // ---- warnings ----------------------------------------------------------------------------------------------

    @Test
    void unsetEnvironmentVariablesAreWarningsNotErrors() throws Exception {
        String yaml = BASE.replace("base_url: https://api.openai.com/v1",
                "base_url: https://api.openai.com/v1\n    api_key_env: MY_OPENAI_KEY");
        Function<String, String> onlyOther = name -> name.equals("OTHER") ? "x" : null;

        Result r = ConfigLoader.check(yaml, "t.yaml", onlyOther);

        assertThat(r.errors()).isEmpty();
        assertThat(r.config()).isNotNull();
        assertThat(r.config().providers().get("openai").apiKeyEnv()).isEqualTo("MY_OPENAI_KEY");
        assertThat(r.warnings()).extracting(Problem::toString)
                .contains("t.yaml:5:18: providers.openai.api_key_env: environment variable MY_OPENAI_KEY is not set");
        assertThat(warnings(yaml, ALL_SET)).noneMatch(w -> w.contains("MY_OPENAI_KEY"));
        assertThat(warnings(yaml, name -> "")).anyMatch(w -> w.contains("MY_OPENAI_KEY is not set"));
    }

    @Test
    void theMetricsScrapeTokenIsNamedByItsVariableNeverWrittenHere() {
        String yaml = "server: {metrics_token_env: SCRAPE_TOKEN}\n" + BASE;
        assertThat(ConfigLoader.check(yaml, "t.yaml", ALL_SET).config().server().metricsTokenEnv()).isEqualTo("SCRAPE_TOKEN");
        assertThat(warnings(yaml, NONE_SET)).contains("t.yaml:1:29: server.metrics_token_env: environment variable SCRAPE_TOKEN is not set");
        assertThat(errors("server: {metrics_token_env: s3cr3t-value}\n" + BASE)).singleElement().asString()
                .startsWith("t.yaml:1:29: server.metrics_token_env: expected the NAME of an environment variable");
        assertThat(errors("server: {metrics_token: s3cr3t-value}\n" + BASE)).singleElement().asString()
                .startsWith("t.yaml:1:10: server.metrics_token: ");
    }

    @Test
    void tiersWithoutModelsAreWarnings() {
        assertThat(warnings("tiers: [free, mid, high]\n" + BASE, ALL_SET)).containsExactly(
                "t.yaml:1:9: tiers: tier 'free' has no models",
                "t.yaml:1:20: tiers: tier 'high' has no models");
        assertThat(warnings(BASE, ALL_SET)).containsExactly(
                "t.yaml:1:1: tiers: tier 'free' has no models",
                "t.yaml:1:1: tiers: tier 'high' has no models",
                "t.yaml:1:1: tiers: tier 'high-speed' has no models",
                "t.yaml:1:1: tiers: tier 'ultra' has no models");
    }

    @Test
    void storeCredentialsWithoutPostgresAreAWarning() {
        Result r = ConfigLoader.check("store: {user_env: PGUSER}\n" + BASE.replace("tier: mid", "tier: free"), "t.yaml", NONE_SET);

        assertThat(r.errors()).isEmpty();
        assertThat(r.warnings()).extracting(Problem::toString).contains(
                "t.yaml:1:19: store.user_env: environment variable PGUSER is not set",
                "t.yaml:1:19: store.user_env: only used with PostgreSQL (store.url is not set, so SQLite is used)");
    }

    // ---- the file itself ---------------------------------------------------------------------------------------

    @Test
    void yamlSyntaxErrorsHaveTheirLine() {
        assertThat(errors("""
                server:
                  host: 127.0.0.1
                  port: [8080
                logging: {json: true}
                """)).singleElement().asString()
                .startsWith("t.yaml:4:8: YAML syntax error: ")
                .contains("line 3, column 9");
        assertThat(errors("server:\n\tport: 8080\n")).containsExactly("t.yaml:2:1: YAML syntax error: found character "
                + "'tab' that cannot start any token. (Do not use tab for indentation)");
        assertThat(errors("org: acme\n? [x, y]\n: 1\n")).containsExactly(
                "t.yaml:2:4: YAML syntax error: a mapping key must be a single value, not a list or a mapping");
        assertThat(errors("org: \"unterminated\nlogging: {}\n")).singleElement().asString()
                .startsWith("t.yaml:3:1: YAML syntax error: found unexpected end of stream");
    }

    @Test
    void anEmptyFileIsAnError() {
        assertThat(errors("")).containsExactly("t.yaml:1:1: file is empty");
        assertThat(errors("# nothing yet\n\n")).containsExactly("t.yaml:1:1: file is empty");
    }

    @Test
    void theTopLevelMustBeAMapping() {
        assertThat(errors("- server\n- org\n")).containsExactly(
                "t.yaml:1:1: expected settings (key: value lines) at the top level, got a list");
    }

    @Test
    void aMissingFileIsAClearError(@TempDir Path dir) {
        Path missing = dir.resolve("nope.yaml");

        assertThatThrownBy(() -> ConfigLoader.load(missing))
                .isInstanceOf(ConfigException.class)
                .hasMessage(missing + ": file not found");
        assertThat(ConfigLoader.check(missing).errors()).singleElement()
                .isEqualTo(new Problem(missing.toString(), 0, 0, "", "file not found"));
    }

    @Test
    void aFileIsReadAsUtf8AndProblemsNameIt(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("carapace.yaml");
        Files.writeString(file, "\uFEFForg: café\n" + BASE, StandardCharsets.UTF_8);

        Result r = ConfigLoader.check(file, ALL_SET);

        assertThat(r.errors()).singleElement().extracting(Problem::toString).isEqualTo(file + ":1:6: org: invalid "
                + "organisation name 'café' (expected lowercase letters, digits, '_' and '-', starting with a letter or "
                + "digit, at most 63 characters)");
    }

    @Test
    void notUtf8IsAnError(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("latin1.yaml");
        Files.write(file, new byte[] {'o', 'r', 'g', ':', ' ', (byte) 0xE9, '\n'});

        assertThat(ConfigLoader.check(file).errors()).extracting(Problem::message)
                .containsExactly("the file is not UTF-8 text");
    }

    @Test
    void problemToString() {
        assertThat(new Problem("c.yaml", 3, 7, "server.port", "bad")).hasToString("c.yaml:3:7: server.port: bad");
        assertThat(new Problem("c.yaml", 3, 0, "", "bad")).hasToString("c.yaml:3: bad");
        assertThat(new Problem("c.yaml", 0, 0, "", "file not found")).hasToString("c.yaml: file not found");
    }
}
