package dev.carapace.privacy;

import dev.carapace.gateway.Call;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.FinishReason;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.ToolCall;
import dev.carapace.model.WireApi;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PrivacyRouterTest {

    static final PrivacySpec SPEC = new PrivacySpec(Map.of(), Map.of("research", Map.of("pii", Action.ALLOW)),
            Map.of("bot", Map.of("secret", Action.REDACT)), "confidential", PrivacySpec.DEFAULT_PHONE_REGIONS,
            List.of(new PrivacySpec.Dictionary("code_name", "confidential", List.of("Bluebird", "Project Nightjar"), false)),
            List.of(new PrivacySpec.CustomPattern("customer_id", "customer", Pattern.compile("CUST-[0-9]{6}"))));
    final PrivacyRouter router = new PrivacyRouter(SPEC);

    static Call call(String team, String agent, Message... messages) {
        Principal p = agent == null ? new Principal("acme", team, "alice", Principal.Role.MEMBER, "cpk_x")
                : Principal.agent("acme", team, null, agent);
        ChatRequest r = new ChatRequest("m", List.of(messages), List.of(), null, null, null, null, null, null, true,
                false, null, null);
        return new Call("req-1", p, WireApi.OPENAI, r, null);
    }

    @Test
    void redactsWithStablePlaceholdersEverywhereAValueIsSent() {
        Call c = call("platform", null,
                Message.of(Role.SYSTEM, "Escalate to ops@acme.example."),
                Message.of(Role.USER, "Mail alice@example.com, then alice@example.com again, and bob@example.com. Customer CUST-123456."),
                new Message(Role.ASSISTANT, List.of(), List.of(new ToolCall("t1", "send", "{\"to\":\"alice@example.com\",\"card\":\"4111 1111 1111 1111\"}")), null, false),
                Message.toolResult("t1", "sent to alice@example.com", false));
        router.beforeRoute(c);
        List<Message> sent = c.request().messages();
        assertThat(sent.get(0).text()).isEqualTo("Escalate to <EMAIL_1>.");
        assertThat(sent.get(1).text()).isEqualTo("Mail <EMAIL_2>, then <EMAIL_2> again, and <EMAIL_3>. Customer <CUSTOMER_ID_1>.");
        assertThat(sent.get(2).toolCalls().get(0).arguments()).isEqualTo("{\"to\":\"<EMAIL_2>\",\"card\":\"<CARD_1>\"}");
        assertThat(sent.get(3).text()).isEqualTo("sent to <EMAIL_2>");
        assertThat(sent.get(3).toolCallId()).isEqualTo("t1");
        assertThat(c.screening().decision()).isEqualTo("redact");
        assertThat(c.screening().classes()).containsExactly("customer", "pii");
        assertThat(c.screening().counts()).contains(new Call.Screening.Count("email", "redact", 6));
        assertThat(c.privateOnly()).isNull();
    }

    @Test
    void restoresAnAnswerAndItsToolCallArgumentsJsonEscaped() {
        Call c = call("platform", null, Message.of(Role.USER, "Use key\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\nand mail x@y.org"));
        new PrivacyRouter(new PrivacySpec(Map.of("secret", Action.REDACT), Map.of(), Map.of(), null, List.of("US"), List.of(), List.of()))
                .beforeRoute(c);
        assertThat(c.request().messages().get(0).text()).isEqualTo("Use key\n<PRIVATE_KEY_1>\nand mail <EMAIL_1>");
        ChatResponse r = new ChatResponse("id", "m", "Sent <EMAIL_1>; <UNKNOWN_1> stays.",
                List.of(new ToolCall("c1", "save", "{\"key\":\"<PRIVATE_KEY_1>\",\"to\":\"<EMAIL_1>\"}")), FinishReason.STOP, null);
        ChatResponse restored = new PrivacyRouter(SPEC).onResponse(c, r);
        assertThat(restored.text()).isEqualTo("Sent x@y.org; <UNKNOWN_1> stays.");
        assertThat(restored.toolCalls().get(0).arguments())
                .isEqualTo("{\"key\":\"-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIB\\n-----END EC PRIVATE KEY-----\",\"to\":\"x@y.org\"}");
    }

    @Test
    void restoresPlaceholdersSplitAcrossStreamedChunksWithoutLosingText() {
        Call c = call("platform", null, Message.of(Role.USER, "Write to alice@example.com and +1 415-555-0132"));
        router.beforeRoute(c);
        List<StreamEvent> out = new ArrayList<>();
        List<StreamEvent> upstream = List.of(new StreamEvent.Started("x", "m"),
                new StreamEvent.TextDelta("Done: <EMA"), new StreamEvent.TextDelta("IL_"), new StreamEvent.TextDelta("1> and <"),
                new StreamEvent.TextDelta("PHONE_1"), new StreamEvent.TextDelta("> <not a tag"),
                new StreamEvent.ToolCallStarted(0, "c1", "mail"), new StreamEvent.ToolCallDelta(0, "{\"to\":\"<EMAIL"),
                new StreamEvent.ToolCallDelta(0, "_1>\"}"), new StreamEvent.TextDelta("trailing <EM"),
                new StreamEvent.Finished(FinishReason.STOP));
        for (StreamEvent e : upstream) {
            StreamEvent passed = router.onEvent(c, e, out::add);
            if (passed != null) out.add(passed);
        }
        StringBuilder text = new StringBuilder(), args = new StringBuilder();
        for (StreamEvent e : out) {
            if (e instanceof StreamEvent.TextDelta t) text.append(t.text());
            if (e instanceof StreamEvent.ToolCallDelta d) args.append(d.argumentsDelta());
        }
        assertThat(text.toString()).isEqualTo("Done: alice@example.com and +1 415-555-0132 <not a tagtrailing <EM");
        assertThat(args.toString()).isEqualTo("{\"to\":\"alice@example.com\"}");
        assertThat(out.get(out.size() - 1)).isInstanceOf(StreamEvent.Finished.class);
        // Text before a tool call reaches the client before it.
        assertThat(out.indexOf(out.stream().filter(e -> e instanceof StreamEvent.ToolCallStarted).findFirst().orElseThrow()))
                .isGreaterThan(out.indexOf(out.stream().filter(e -> e instanceof StreamEvent.TextDelta t && t.text().contains("<not")).findFirst().orElseThrow()));
    }

    @Test
    void blocksSecretsNamingClassAndTypeButNeverTheValue() {
        String key = "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34";
        Call c = call("platform", null, Message.of(Role.USER, "my key is " + key));
        assertThatThrownBy(() -> router.beforeRoute(c)).isInstanceOfSatisfying(ApiException.class, e -> {
            assertThat(e.kind().status).isEqualTo(400);
            assertThat(e.code()).isEqualTo("privacy_blocked");
            assertThat(e.getMessage()).contains("class secret", "openai_key in messages[0]", "team 'platform'").doesNotContain(key, "Ab12");
        });
        assertThat(c.screening().decision()).isEqualTo("block");
        assertThat(c.screening().classes()).containsExactly("secret");
    }

    @Test
    void aCardWrittenAfterTokenIsBlockedAsACardWhenCardsAreBlockedAndCredentialsRedacted() {
        PrivacyRouter strictOnPii = new PrivacyRouter(new PrivacySpec(Map.of("pii", Action.BLOCK, "secret", Action.REDACT),
                Map.of(), Map.of(), null, List.of("US"), List.of(), List.of()));
        Call c = call("platform", null, Message.of(Role.USER, "token=4539578763621486"));
        assertThatThrownBy(() -> strictOnPii.beforeRoute(c)).isInstanceOfSatisfying(ApiException.class,
                e -> assertThat(e.getMessage()).contains("class pii (card in messages[0])").doesNotContain("4539"));
        assertThat(c.screening().counts()).containsExactly(new Call.Screening.Count("card", "block", 1),
                new Call.Screening.Count("credential", "redact", 1));
    }

    @Test
    void aValueThatIsBothACardAndACredentialIsRedactedOnceIfEitherClassSaysRedact() {
        PrivacyRouter redactSecrets = new PrivacyRouter(new PrivacySpec(Map.of("pii", Action.ALLOW, "secret", Action.REDACT),
                Map.of(), Map.of(), null, List.of("US"), List.of(), List.of()));
        Call c = call("platform", null, Message.of(Role.USER, "pay with token=4539578763621486 now"));
        redactSecrets.beforeRoute(c);
        assertThat(c.request().messages().get(0).text()).isEqualTo("pay with token=<CARD_1> now");
        assertThat(c.screening().decision()).isEqualTo("redact");
        assertThat(c.screening().classes()).containsExactly("pii", "secret");
    }

    @Test
    void agentTeamAndOrgLevelsOverrideEachOther() {
        Call research = call("research", null, Message.of(Role.USER, "mail bob@example.com"));
        router.beforeRoute(research);
        assertThat(research.request().messages().get(0).text()).isEqualTo("mail bob@example.com");
        assertThat(research.screening().decision()).isEqualTo("allow");

        Call bot = call("platform", "bot", Message.of(Role.USER, "token ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"));
        router.beforeRoute(bot);
        assertThat(bot.request().messages().get(0).text()).isEqualTo("token <GITHUB_TOKEN_1>");
    }

    @Test
    void confidentialTermsAndImagesKeepTheCallOnPrivateModels() {
        Call c = call("platform", null, new Message(Role.USER, List.of(new Part.Text("status of project nightjar?"),
                new Part.Image("https://x/y.png", null, null)), List.of(), null, false));
        router.beforeRoute(c);
        assertThat(c.privateOnly()).contains("confidential", "code_name in messages[0]", "image");
        assertThat(c.screening().decision()).isEqualTo("private");
        assertThat(c.request().messages().get(0).content()).hasSize(2);   // private, not redacted
    }

    @Test
    void aPlaceholderTheClientWroteItselfIsNeverHandedOutOrRestored() {
        Call c = call("platform", null, Message.of(Role.USER, "Template <EMAIL_1> stays; real one: a@b.io"));
        router.beforeRoute(c);
        assertThat(c.request().messages().get(0).text()).isEqualTo("Template <EMAIL_1> stays; real one: <EMAIL_2>");
        ChatResponse r = router.onResponse(c, new ChatResponse("i", "m", "<EMAIL_1> / <EMAIL_2>", List.of(), FinishReason.STOP, null));
        assertThat(r.text()).isEqualTo("<EMAIL_1> / a@b.io");
    }
}
