package dev.carapace.config;

import dev.carapace.privacy.Action;
import dev.carapace.privacy.PrivacySpec;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class PrivacyConfigTest {

    static final String BASE = "teams:\n  research: {}\n";

    @Test
    void readsActionsOverridesDictionariesAndPatterns() throws Exception {
        CarapaceConfig c = ConfigLoader.load(BASE + """
                privacy:
                  actions: {allow: [pii], block: [secret, customer]}
                  teams:
                    research: {actions: {redact: [pii]}}
                  image_class: confidential
                  phone_regions: [us, JP]
                  dictionaries:
                    code_name: {class: confidential, terms: [Bluebird, Red Kite], case_sensitive: true}
                  patterns:
                    customer_id: {class: customer, regex: 'CUST-[0-9]{6}'}
                """, "c.yaml");
        PrivacySpec p = c.privacy();
        assertThat(p.actionFor("platform", null, "pii")).isEqualTo(Action.ALLOW);
        assertThat(p.actionFor("research", null, "pii")).isEqualTo(Action.REDACT);
        assertThat(p.actionFor("research", null, "confidential")).isEqualTo(Action.PRIVATE);   // default
        assertThat(p.actionFor("research", null, "customer")).isEqualTo(Action.BLOCK);
        assertThat(p.phoneRegions()).containsExactly("US", "JP");
        assertThat(p.dictionaries().get(0).terms()).containsExactly("Bluebird", "Red Kite");
        assertThat(p.patterns().get(0).regex().pattern()).isEqualTo("CUST-[0-9]{6}");
        assertThat(ConfigLoader.load(BASE, "c.yaml").privacy()).isNull();
        assertThat(ConfigLoader.load(BASE + "privacy: {}\n", "c.yaml").privacy().actionFor("x", null, "secret")).isEqualTo(Action.BLOCK);
    }

    @Test
    void reportsEveryMistakeWithLineAndPath() {
        var r = ConfigLoader.check(BASE + """
                privacy:
                  actions: {block: [secret], allow: [secret], deny: [pii]}
                  teams:
                    nobody: {actions: {allow: [pii]}}
                  phone_regions: [XX]
                  dictionaries:
                    email: {class: pii, terms: [x]}
                    names: {class: Bad Class, terms: []}
                  patterns:
                    broken: {class: internal, regex: 'CUST-[0-9'}
                  extra: 1
                """, "c.yaml", Map.<String, String>of()::get);
        assertThat(r.errors()).extracting(Object::toString).anySatisfy(e -> assertThat(e).startsWith("c.yaml:4:").contains("class 'secret' already has action 'block'"))
                .anySatisfy(e -> assertThat(e).contains("privacy.actions.deny").contains("unknown"))
                .anySatisfy(e -> assertThat(e).startsWith("c.yaml:6:").contains("unknown team 'nobody'"))
                .anySatisfy(e -> assertThat(e).contains("privacy.phone_regions").contains("unknown region 'XX'"))
                .anySatisfy(e -> assertThat(e).contains("'email' is a built-in finding type"))
                .anySatisfy(e -> assertThat(e).contains("invalid class 'Bad Class'"))
                .anySatisfy(e -> assertThat(e).contains("privacy.patterns.broken.regex").contains("not a valid regular expression"))
                .anySatisfy(e -> assertThat(e).contains("privacy.extra"));
    }
}
