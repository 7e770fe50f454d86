package dev.carapace.model;

import dev.carapace.model.openai.OpenAiFormat;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Which model a name leads to: a model's id, then an exact alias, then the longest prefix alias. */
class PortfolioAliasesTest {

    private static final Price PRICE = new Price(BigDecimal.ONE, BigDecimal.ONE, BigDecimal.ONE);

    private static ModelSpec model(String id, List<String> aliases) {
        return new ModelSpec(id, "mid", PRICE, 1000, 100, 0, PrivacyClass.EXTERNAL, List.of(new DeploymentSpec("p", "up")),
                ModelKind.CHAT, 0, aliases);
    }

    private final Portfolio portfolio = new Portfolio(List.of("mid"), List.of(
            model("sonnet", List.of("claude-*", "claude-sonnet-4-5")),
            model("haiku", List.of("claude-haiku-*")),
            model("claude-opus-4-1", List.of())),
            Map.of("p", new Provider(new ProviderSpec("p", WireApi.OPENAI, URI.create("http://127.0.0.1:9/v1"), null,
                    Duration.ofSeconds(1), Duration.ofSeconds(1), Map.of()), new OpenAiFormat(), null)));

    private String resolved(String name, Access access) { return portfolio.resolve(name, access, "team 't'").id(); }

    @Test
    void anIdBeatsAnAliasAndTheLongestPrefixWins() {
        assertThat(resolved("claude-opus-4-1", Access.ALL)).isEqualTo("claude-opus-4-1");       // an id, under claude-*
        assertThat(resolved("claude-sonnet-4-5", Access.ALL)).isEqualTo("sonnet");             // exact alias
        assertThat(resolved("claude-haiku-4-5-20251001", Access.ALL)).isEqualTo("haiku");      // the longer prefix
        assertThat(resolved("claude-sonnet-9", Access.ALL)).isEqualTo("sonnet");
        assertThatThrownBy(() -> resolved("gpt-4o", Access.ALL)).isInstanceOf(ApiException.class)
                .hasMessageContaining("The model 'gpt-4o' does not exist");
    }

    /** An alias is another door to the same model, not a way around a team's model list. */
    @Test
    void anAliasIsHeldToTheAccessOfTheModelItLeadsTo() {
        Access onlyHaiku = new Access(Set.of(), Set.of("haiku"));
        assertThat(resolved("claude-haiku-4-5", onlyHaiku)).isEqualTo("haiku");
        assertThatThrownBy(() -> resolved("claude-sonnet-4-5", onlyHaiku)).isInstanceOf(ApiException.class)
                .hasMessageContaining("may not use model 'sonnet'");
    }
}
