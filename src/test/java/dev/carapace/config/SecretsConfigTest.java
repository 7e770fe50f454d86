package dev.carapace.config;

import dev.carapace.config.ConfigLoader.Result;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@code secrets:} section: references to values the egress proxy injects, never the values. */
class SecretsConfigTest {

    private static Result check(String yaml) {
        return ConfigLoader.check(yaml, "c.yaml", name -> "value-of-" + name);
    }

    @Test
    void namesMapToReferencesInFileOrder() {
        Result r = check("""
                secrets:
                  GITHUB_TOKEN: env:GH_TOKEN
                  internal-api: file:/run/secrets/internal
                tools: {web_fetch: proxy}
                """);
        assertThat(r.errors()).isEmpty();
        assertThat(r.config().secrets()).containsExactly(Map.entry("GITHUB_TOKEN", "env:GH_TOKEN"),
                Map.entry("internal-api", "file:/run/secrets/internal"));
        assertThat(r.config().tools().webFetch()).isEqualTo(CarapaceConfig.Tools.WebFetch.PROXY);
        assertThat(check("org: a\n").config().secrets()).isEmpty();
    }

    @Test
    void valuesThatAreNotReferencesAreRefusedWithoutBeingEchoed() {
        Result r = check("""
                secrets:
                  GITHUB_TOKEN: ghp_reallysecretvalue123
                  REL: file:relative/token
                  BADENV: env:has space
                  NESTED: {env: X}
                """);
        List<String> errors = r.errors().stream().map(Object::toString).toList();
        assertThat(errors).containsExactly(
                "c.yaml:2:17: secrets.GITHUB_TOKEN: secret 'GITHUB_TOKEN' must be a reference, env:VAR or "
                        + "file:/absolute/path (secret values are never written in the config)",
                "c.yaml:3:8: secrets.REL: secret 'REL': file: must be followed by an absolute path",
                "c.yaml:4:11: secrets.BADENV: secret 'BADENV': env: must be followed by an environment variable name",
                "c.yaml:5:3: secrets.NESTED: expected a reference, env:VAR or file:/absolute/path");
        assertThat(String.join("\n", errors)).doesNotContain("ghp_reallysecretvalue123");
    }
}
