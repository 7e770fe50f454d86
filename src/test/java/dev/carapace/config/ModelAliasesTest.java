package dev.carapace.config;

import dev.carapace.yaml.Problem;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code models.NAME.aliases}: other names a client may send for a model (a harness's own default, say). */
class ModelAliasesTest {

    private static final String TWO_MODELS = """
            providers:
              up: {kind: anthropic, base_url: https://api.anthropic.com}
            models:
              sonnet:
                tier: mid
                context_window: 200000
                max_output_tokens: 8192
                price: {input: 3, output: 15}
                deployments: [{provider: up}]
                aliases: %s
              haiku:
                tier: free
                context_window: 200000
                max_output_tokens: 8192
                price: {input: 1, output: 5}
                deployments: [{provider: up}]
                aliases: %s
            """;

    private static ConfigLoader.Result check(String sonnet, String haiku) {
        return ConfigLoader.check(TWO_MODELS.formatted(sonnet, haiku), "t.yaml", name -> "set");
    }

    private static List<String> errors(String sonnet, String haiku) {
        return check(sonnet, haiku).errors().stream().map(Problem::toString).toList();
    }

    @Test
    void exactNamesAndPrefixesAreKeptInOrder() {
        ConfigLoader.Result r = check("[claude-sonnet-4-5, 'claude-*']", "['claude-haiku-*']");
        assertThat(r.errors()).isEmpty();
        assertThat(r.config().models().get("sonnet").aliases()).containsExactly("claude-sonnet-4-5", "claude-*");
        assertThat(r.config().models().get("haiku").aliases()).containsExactly("claude-haiku-*");
    }

    @Test
    void aNameThatLeadsToTwoModelsIsRefusedWhereItIsWritten() {
        assertThat(errors("[claude-x]", "[claude-x]")).containsExactly("t.yaml:17:15: models.haiku.aliases: alias "
                + "'claude-x' is given twice (first at line 10, for model 'sonnet'); a name leads to one model");
        assertThat(errors("[haiku]", "[]")).containsExactly("t.yaml:10:15: models.sonnet.aliases: alias 'haiku' is the"
                + " id of another model; a name leads to one model");
    }

    @Test
    void anAliasIsAModelNameOrAPrefixOfOne() {
        for (String bad : new String[] {"'*'", "'tier:mid'", "'a*b'", "'**'", "'-x'", "'x y'"}) {
            assertThat(errors("[" + bad + "]", "[]")).as(bad).singleElement().asString()
                    .startsWith("t.yaml:10:").contains("models.sonnet.aliases: invalid alias")
                    .contains("or such a prefix followed by '*', like claude-*");
        }
        assertThat(errors("claude", "[]")).singleElement().asString().contains("models.sonnet.aliases")
                .contains("expected a list of other names for this model");
    }
}
