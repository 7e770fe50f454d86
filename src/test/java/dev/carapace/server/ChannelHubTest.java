package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.TranscriptEntry;
import dev.carapace.channel.Access;
import dev.carapace.channel.AgentRoute;
import dev.carapace.channel.Attachment;
import dev.carapace.channel.Channel;
import dev.carapace.channel.ChannelEvent;
import dev.carapace.channel.ChannelEvents;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.ChannelHub;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.Identities;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.Inbox;
import dev.carapace.channel.MessageState;
import dev.carapace.channel.Outbound;
import dev.carapace.channel.Sender;
import dev.carapace.channel.StoredMessage;
import dev.carapace.channel.UnknownSenders;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.privacy.Scanner;
import dev.carapace.server.adapter.AuditedChannels;
import dev.carapace.server.adapter.ChannelPrivacyScreen;
import dev.carapace.server.adapter.StoreChannels;
import dev.carapace.store.AuditRecords;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.carapace.server.AgentHarness.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The channel hub over a real gateway, store, agent runtime, privacy screen and audit chain, with a channel that
 * records what it is asked to send: who reaches an agent (bound senders, pairing for the rest), what never does
 * (automated mail, duplicates, denied routes, blocked data), approvals, files into the workspace, and the sender in
 * the transcript.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChannelHubTest {

    static final String AGENTS = """
            agents:
              desk:
                workspace: %s
                model: m-solo
                tools: []
                owner: {team: platform}
            """;

    @TempDir static Path dir;
    GatewayHarness h;
    Path workspace;
    final RecordingChannel chat = new RecordingChannel("chat");
    final List<ChannelEvent> events = new CopyOnWriteArrayList<>();
    ChannelHub hub;
    Inbox inbox;

    @BeforeAll
    void start() throws Exception {
        workspace = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(workspace.resolve("AGENTS.md"), "You answer the help desk.");
        h = new GatewayHarness(dir.resolve("data"), AGENTS.formatted(workspace));
        StoreChannels store = new StoreChannels(h.carapace.store().channelRows());
        ChannelSpec spec = new ChannelSpec("chat", "test", List.of(new AgentRoute("deny@x", "desk", Access.DENY),
                new AgentRoute("ask@x", "desk", Access.ASK), new AgentRoute("*", "desk", Access.ALLOW)),
                UnknownSenders.PAIR, 1000, List.of("text/*", "image/*"), null);
        ChannelEvents channelEvents = new ChannelEvents();
        channelEvents.subscribe(events::add);
        Identities identities = new Identities("acme", List.of(new dev.carapace.channel.IdentityBinding(
                "test:alice", "platform", "alice", "config", Instant.now())), store,
                new AuditedChannels(h.carapace.auditLog(), Clock.systemUTC()), Clock.systemUTC());
        hub = new ChannelHub(List.of(spec), store, identities, h.carapace.agentRuntime().agents(),
                h.carapace.agentRuntime(), new ChannelPrivacyScreen(PrivacySpec.DEFAULT, new Scanner(PrivacySpec.DEFAULT)),
                new AuditedChannels(h.carapace.auditLog(), Clock.systemUTC()), channelEvents, null, Clock.systemUTC(),
                Duration.ofMillis(10));
        hub.add(chat);
        hub.start();
        inbox = hub.inbox();
    }

    @AfterAll
    void stop() {
        hub.close();
        h.close();
    }

    static Inbound message(String sender, String address, String conversation, String text, List<Attachment> files,
                           boolean automated) {
        return new Inbound("chat", UUID.randomUUID().toString(), new Sender("test", sender, sender.toUpperCase()),
                address, conversation, text, files, Map.of("thread", conversation), automated, Instant.now());
    }

    StoredMessage awaitFinal(String messageKey) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            for (StoredMessage m : hub.messages("chat", 100)) {
                if (m.message().messageId().equals(messageKey) && (m.state().isFinal()
                        || m.state() == MessageState.AWAITING_APPROVAL)) return m;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("message " + messageKey + " did not end");
    }

    @Test
    void aBoundSendersMessageReachesTheAgentAndTheAnswerGoesBackInTheThreadWithTheSenderInTheTranscript()
            throws Exception {
        h.a.enqueue(text("The printer is on floor 2.", 40, 8));
        Inbound in = message("alice", "desk@x", "thread-1", "Where is the printer?", List.of(), false);
        assertThat(inbox.receive(in)).isTrue();
        StoredMessage m = awaitFinal(in.messageId());
        assertThat(m.state()).as(m.detail()).isEqualTo(MessageState.ANSWERED);
        assertThat(ScriptedUpstream.body(h.a.take())).contains("Where is the printer?");
        Outbound sent = chat.sent.poll(5, TimeUnit.SECONDS);
        assertThat(sent.text()).isEqualTo("The printer is on floor 2.");
        assertThat(sent.recipient().key()).isEqualTo("test:alice");
        assertThat(sent.reply()).containsEntry("thread", "thread-1");

        String session = h.carapace.agentRuntime().run(m.runId()).sessionKey();
        TranscriptEntry user = h.carapace.agentRuntime().transcript(session).get(0);
        assertThat(user.role()).isEqualTo("user");
        JsonNode sender = user.content().path("sender");
        assertThat(sender.path("team").asText()).isEqualTo("platform");
        assertThat(sender.path("user").asText()).isEqualTo("alice");
        assertThat(sender.path("via").asText()).isEqualTo("test:alice");
        // the event is published just after the message is stored as answered: wait for it, not for the state
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> events.stream().anyMatch(
                e -> e.type().equals("message_answered") && e.messageId().equals(m.id()) && e.latencyMs() >= 0));

        // the same message delivered again is acknowledged and not handled twice
        assertThat(inbox.receive(in)).isFalse();
        assertThat(hub.messages("chat", 100).stream().filter(x -> x.message().messageId().equals(in.messageId()))).hasSize(1);
    }

    @Test
    void anUnknownSenderGetsOnePairingCodeAndNothingFromTheModelUntilPaired() throws Exception {
        int before = h.a.requestCount();
        Inbound first = message("mallory", "desk@x", "t-m", "hi, give me the payroll", List.of(), false);
        inbox.receive(first);
        StoredMessage m = awaitFinal(first.messageId());
        assertThat(m.state()).isEqualTo(MessageState.REFUSED);
        Outbound reply = chat.sent.poll(5, TimeUnit.SECONDS);
        Matcher code = Pattern.compile("channels pair ([0-9A-Z]{10})").matcher(reply.text());
        assertThat(code.find()).as(reply.text()).isTrue();
        assertThat(reply.text()).doesNotContain("payroll");

        // a second message within the day: recorded, not answered (a forged sender must not make us a mail cannon)
        Inbound second = message("mallory", "desk@x", "t-m", "again", List.of(), false);
        inbox.receive(second);
        assertThat(awaitFinal(second.messageId()).state()).isEqualTo(MessageState.REFUSED);
        assertThat(chat.sent.poll(200, TimeUnit.MILLISECONDS)).isNull();
        assertThat(h.a.requestCount()).isEqualTo(before);

        // a wrong code is refused; the right one binds, once
        assertThatThrownBy(() -> hub.pair("0000000000", "platform", "mallory", "admin")).hasMessageContaining("no pairing");
        hub.pair(code.group(1).toLowerCase(), "platform", "mallory", "admin");
        assertThatThrownBy(() -> hub.pair(code.group(1), "platform", "mallory", "admin")).hasMessageContaining("no pairing");
        assertThat(hub.identities().binding("test:mallory").orElseThrow().source()).isEqualTo("pairing");

        h.a.enqueue(text("Hello Mallory.", 10, 3));
        Inbound third = message("mallory", "desk@x", "t-m", "now?", List.of(), false);
        inbox.receive(third);
        assertThat(awaitFinal(third.messageId()).state()).isEqualTo(MessageState.ANSWERED);
        assertThat(chat.sent.poll(5, TimeUnit.SECONDS).text()).isEqualTo("Hello Mallory.");
        h.a.take();
        h.carapace.auditLog().flush(Duration.ofSeconds(5));
        assertThat(h.carapace.store().auditRecords().search(new AuditRecords.Filter(null, null, null, "channels", null, null,
                0), 100).stream().anyMatch(r -> r.action().equals("pair") && r.target().equals("test:mallory"))).isTrue();
    }

    @Test
    void automatedEmptyDeniedAndBlockedMessagesNeverReachTheModel() throws Exception {
        int before = h.a.requestCount();
        Inbound auto = message("alice", "desk@x", "t-a", "I am out of office", List.of(), true);
        Inbound empty = message("alice", "desk@x", "t-a", "  ", List.of(), false);
        Inbound denied = message("alice", "deny@x", "t-d", "hello", List.of(), false);
        Inbound secret = message("alice", "desk@x", "t-s", "use key AKIAIOSFODNN7EXAMPLE with secret "
                + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", List.of(), false);
        for (Inbound in : List.of(auto, empty, denied, secret)) inbox.receive(in);
        assertThat(awaitFinal(auto.messageId()).state()).isEqualTo(MessageState.IGNORED);
        assertThat(awaitFinal(empty.messageId()).state()).isEqualTo(MessageState.IGNORED);
        StoredMessage d = awaitFinal(denied.messageId());
        assertThat(d.state()).isEqualTo(MessageState.REFUSED);
        assertThat(d.detail()).contains("denied");
        StoredMessage s = awaitFinal(secret.messageId());
        assertThat(s.state()).isEqualTo(MessageState.REFUSED);
        assertThat(s.detail()).contains("privacy").doesNotContain("AKIA");
        assertThat(h.a.requestCount()).isEqualTo(before);
        List<String> replies = List.of(chat.sent.poll(5, TimeUnit.SECONDS).text(), chat.sent.poll(5, TimeUnit.SECONDS).text());
        assertThat(replies).anyMatch(t -> t.contains("does not take messages"))
                .anyMatch(t -> t.contains("not passed on")).noneMatch(t -> t.contains("AKIA"));
        assertThat(chat.sent.poll(100, TimeUnit.MILLISECONDS)).as("no reply to automated or empty mail").isNull();
    }

    @Test
    void aRouteThatAsksWaitsForAnOperator() throws Exception {
        h.a.enqueue(text("Approved answer.", 10, 3));
        Inbound in = message("alice", "ask@x", "t-ask", "please", List.of(), false);
        inbox.receive(in);
        StoredMessage waiting = awaitFinal(in.messageId());
        assertThat(waiting.state()).isEqualTo(MessageState.AWAITING_APPROVAL);
        assertThatThrownBy(() -> hub.decide("msg_nope", true, "root")).isInstanceOf(java.util.NoSuchElementException.class)
                .hasMessageContaining("No message");
        hub.decide(waiting.id(), true, "root");
        assertThatThrownBy(() -> hub.decide(waiting.id(), true, "root")).hasMessageContaining("not waiting");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (h.carapace.store().channelRows().message(waiting.id()).orElseThrow().state().equals("started")
                || h.carapace.store().channelRows().message(waiting.id()).orElseThrow().state().equals("awaiting_approval")) {
            if (System.nanoTime() > deadline) throw new AssertionError("not answered");
            Thread.sleep(10);
        }
        assertThat(h.carapace.store().channelRows().message(waiting.id()).orElseThrow().state()).isEqualTo("answered");
        assertThat(chat.sent.poll(5, TimeUnit.SECONDS).text()).isEqualTo("Approved answer.");
        h.a.take();
    }

    @Test
    void filesAreSavedInTheWorkspaceUnderSafeNamesAndTheAgentIsToldWhere() throws Exception {
        h.a.enqueue(text("Got your files.", 10, 3));
        Attachment shot = new Attachment("../../etc/passwd.png", "image/png", new byte[]{(byte) 0x89, 'P', 'N', 'G'});
        Attachment big = new Attachment("big.txt", "text/plain", new byte[2000]);
        Attachment exe = new Attachment("run.exe", "application/x-msdownload", new byte[]{'M', 'Z'});
        Inbound in = message("alice", "desk@x", "t-f", "see attached", List.of(shot, big, exe), false);
        inbox.receive(in);
        StoredMessage m = awaitFinal(in.messageId());
        assertThat(m.state()).as(m.detail()).isEqualTo(MessageState.ANSWERED);
        String prompt = ScriptedUpstream.body(h.a.take());
        assertThat(prompt).contains("inbox/" + m.id() + "/passwd.png").contains("big.txt dropped: 2000 bytes")
                .contains("run.exe dropped: type application/x-msdownload")
                .as("the image reaches the (vision) model with the text").contains("data:image/png;base64,iVBORw==");
        Path saved = workspace.resolve("inbox").resolve(m.id()).resolve("passwd.png");
        assertThat(Files.readAllBytes(saved)).containsExactly(0x89, 'P', 'N', 'G');
        try (var files = Files.list(workspace.resolve("inbox").resolve(m.id()))) {
            assertThat(files.toList()).hasSize(1);
        }
        chat.sent.poll(5, TimeUnit.SECONDS);
    }

    @Test
    void anAgentSendingToSomeoneOutsideTheOrgHasPrivateDataRedactedOrRefused() throws Exception {
        String card = "4111 1111 1111 1111";
        String done = hub.sendAs("desk", "chat", "customer@example.com", "Your order", "Card on file: " + card + ".");
        assertThat(done).contains("redacted");
        Outbound out = chat.sent.poll(5, TimeUnit.SECONDS);
        assertThat(out.text()).doesNotContain(card).contains("[REDACTED:");
        assertThat(out.recipient().key()).isEqualTo("test:customer@example.com");
        assertThat(out.reply()).containsEntry("subject", "Your order");

        // a colleague (a bound identity) gets it as written
        hub.sendAs("desk", "chat", "alice", null, "Card on file: " + card + ".");
        assertThat(chat.sent.poll(5, TimeUnit.SECONDS).text()).contains(card);

        // a secret never goes out to a stranger; a channel that does not route to the agent is not its to use
        assertThatThrownBy(() -> hub.sendAs("desk", "chat", "customer@example.com", null,
                "key AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
                .hasMessageContaining("not sent").hasMessageNotContaining("AKIA");
        assertThatThrownBy(() -> hub.sendAs("other", "chat", "alice", null, "hi")).hasMessageContaining("channels that route to you (none)");
        assertThatThrownBy(() -> hub.sendAs("desk", "chat", "bad\nBcc: x@y", null, "hi")).hasMessageContaining("control");
        assertThat(chat.sent.poll(100, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void theSendMessageToolRefusesMalformedArgumentsBeforeAnythingIsSent() throws Exception {
        dev.carapace.channel.SendMessageTool tool = new dev.carapace.channel.SendMessageTool(() -> hub);
        dev.carapace.agent.ToolContext ctx = new dev.carapace.agent.ToolContext("desk", "agent:desk:s", workspace,
                Duration.ofSeconds(5), 10_000);
        for (String args : List.of("{\"channel\":\"chat\",\"to\":\"alice\",\"text\":\"x\",\"bcc\":\"y\"}",
                "{\"channel\":\"chat\",\"to\":5,\"text\":\"x\"}",
                "{\"channel\":\"chat\",\"to\":\"alice\",\"text\":\"x\",\"subject\":\"a\\r\\nBcc: z\"}",
                "{\"channel\":\"chat\",\"to\":\"alice\",\"text\":\"  \"}")) {
            dev.carapace.agent.ToolResult r = tool.run(GatewayHarness.JSON.readTree(args), ctx);
            assertThat(r.error()).as(args).isTrue();
        }
        assertThat(chat.sent.poll(100, TimeUnit.MILLISECONDS)).isNull();
        dev.carapace.agent.ToolResult ok = tool.run(GatewayHarness.JSON.readTree(
                "{\"channel\":\"chat\",\"to\":\"alice\",\"text\":\"hello\"}"), ctx);
        assertThat(ok.error()).as(ok.content()).isFalse();
        assertThat(chat.sent.poll(5, TimeUnit.SECONDS).text()).isEqualTo("hello");
    }

    @Test
    void messagesStoredButNotHandledWhenTheGatewayStoppedAreTakenUpOnTheNextStart() throws Exception {
        StoreChannels store = new StoreChannels(h.carapace.store().channelRows());
        Inbound left = message("alice", "desk@x", "t-left", "still there?", List.of(), false);
        assertThat(store.insert("msg_left", left, Instant.now())).isTrue();
        Inbound approved = message("alice", "ask@x", "t-approved", "approved before the crash", List.of(), false);
        store.insert("msg_approved", approved, Instant.now());
        store.update("msg_approved", MessageState.STARTED, "desk", null, "approved by root", Instant.now());
        h.a.enqueue(text("Yes.", 10, 2), text("Done.", 10, 2));
        RecordingChannel again = new RecordingChannel("chat");
        ChannelSpec spec = hub.specs().get(0);
        try (ChannelHub restarted = new ChannelHub(List.of(spec), store, hub.identities(), h.carapace.agentRuntime().agents(),
                h.carapace.agentRuntime(), dev.carapace.channel.ChannelPrivacy.NONE, dev.carapace.channel.ChannelAudit.NONE,
                new ChannelEvents(), null, Clock.systemUTC(), Duration.ofMillis(10))) {
            restarted.add(again);
            restarted.start();
            List<String> texts = List.of(again.sent.poll(10, TimeUnit.SECONDS).text(), again.sent.poll(10, TimeUnit.SECONDS).text());
            assertThat(texts).containsExactlyInAnyOrder("Yes.", "Done.");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!store.message("msg_approved").orElseThrow().state().isFinal()
                    || !store.message("msg_left").orElseThrow().state().isFinal()) {
                if (System.nanoTime() > deadline) break;
                Thread.sleep(10);
            }
        }
        assertThat(store.message("msg_left").orElseThrow().state()).isEqualTo(MessageState.ANSWERED);
        assertThat(store.message("msg_approved").orElseThrow().state()).isEqualTo(MessageState.ANSWERED);
        h.a.take();
        h.a.take();
    }

    @Test
    void aMessageSentThroughTheApiRecordsWhoSentItToo() {
        h.a.enqueue(text("ok", 5, 1));
        JsonNode run = GatewayHarness.json(h.post("/api/agents/desk/runs?wait=true", h.memberKey,
                "{\"message\":\"shared session hello\",\"session\":\"team-room\"}").body());
        assertThat(run.path("status").asText()).as(run.toString()).isEqualTo("completed");
        h.a.take();
        JsonNode sender = h.carapace.agentRuntime().transcript("agent:desk:team-room").get(0).content().path("sender");
        assertThat(sender.path("team").asText()).isEqualTo("platform");
        assertThat(sender.path("user").asText()).isEqualTo("alice");
        assertThat(sender.path("key").asText()).isNotBlank();
        assertThat(sender.has("via")).isFalse();
        assertThat(h.memberKey).startsWith(sender.path("key").asText());
        assertThat(sender.path("key").asText().length()).isLessThan(h.memberKey.length());
    }

    @Test
    void aPairingCodeIsNeverPostedInAGroupWhereAnyReaderCouldConfirmItForThemselves() throws Exception {
        Inbound in = message("eve", "desk@x", "group-1", "hi bot", List.of(), false);
        inbox.receive(in);
        assertThat(awaitFinal(in.messageId()).state()).isEqualTo(MessageState.REFUSED);
        Outbound notice = chat.sent.poll(5, TimeUnit.SECONDS);
        assertThat(notice.text()).contains("direct message").doesNotContainPattern("[0-9A-Z]{10}");
        assertThat(hub.identities().pairings()).noneMatch(p -> p.sender().equals("test:eve"));
    }

    @Test
    void anAnswerIntoAGroupIsScreenedLikeOneToAStrangerEvenWhenItsSenderIsBound() throws Exception {
        String card = "4111 1111 1111 1111";
        h.a.enqueue(text("The card on file is " + card + ".", 20, 8));
        Inbound in = message("alice", "desk@x", "group-2", "Which card does the customer use?", List.of(), false);
        inbox.receive(in);
        assertThat(awaitFinal(in.messageId()).state()).isEqualTo(MessageState.ANSWERED);
        h.a.take();
        assertThat(chat.sent.poll(5, TimeUnit.SECONDS).text()).doesNotContain(card).contains("[REDACTED:");
    }

    @Test
    void sendMessageToAStrangerCannotCarryACardInItsSubject() throws Exception {
        String card = "4111 1111 1111 1111";
        String done = hub.sendAs("desk", "chat", "customer@example.com", "Card " + card, "See the subject.");
        Outbound out = chat.sent.poll(5, TimeUnit.SECONDS);
        assertThat(out.reply().get("subject")).doesNotContain(card).contains("[REDACTED:");
        assertThat(done).contains("redacted");
    }

    @Test
    void aSpokenAnswerIntoAGroupSaysNoMoreThanTheScreenedText() throws Exception {
        List<String> spoken = new CopyOnWriteArrayList<>();
        dev.carapace.channel.Voice voice = new dev.carapace.channel.Voice() {
            @Override public String transcribe(dev.carapace.identity.Principal caller, Attachment audio) {
                return "which card?";
            }
            @Override public Attachment speak(dev.carapace.identity.Principal caller, String text) {
                spoken.add(text);
                return new Attachment("answer.ogg", "audio/ogg", new byte[]{1});
            }
        };
        ChannelSpec talking = new ChannelSpec("talk", "slack", List.of(new AgentRoute("*", "desk", Access.ALLOW)),
                UnknownSenders.PAIR, 1000, List.of("audio/*"), null);
        RecordingChannel talk = new RecordingChannel("talk");
        StoreChannels store = new StoreChannels(h.carapace.store().channelRows());
        String card = "4111 1111 1111 1111";
        h.a.enqueue(text("The card is " + card + ".", 20, 8));
        try (ChannelHub voiced = new ChannelHub(List.of(talking), store, hub.identities(), h.carapace.agentRuntime().agents(),
                h.carapace.agentRuntime(), new ChannelPrivacyScreen(PrivacySpec.DEFAULT, new Scanner(PrivacySpec.DEFAULT)),
                dev.carapace.channel.ChannelAudit.NONE, new ChannelEvents(), voice, Clock.systemUTC(), Duration.ofMillis(10))) {
            voiced.add(talk);
            voiced.start();
            voiced.inbox().receive(new Inbound("talk", UUID.randomUUID().toString(), new Sender("test", "alice", null),
                    "C1", "group-voice", "", List.of(new Attachment("note.ogg", "audio/ogg", new byte[]{0})),
                    Map.of(), false, Instant.now()));
            Outbound out = talk.sent.poll(10, TimeUnit.SECONDS);
            assertThat(out.text()).doesNotContain(card);
            assertThat(spoken).singleElement().satisfies(t -> assertThat(t).doesNotContain(card).contains("[REDACTED:"));
        }
        h.a.take();
    }

    @Test
    void aSecretOrCardHiddenWithZeroWidthOrFullwidthCharactersIsStillSeenBothWays() throws Exception {
        int before = h.a.requestCount();
        Inbound key = message("alice", "desk@x", "t-zw", "use AKIA\u200bIOSFODNN7EXAMPLE", List.of(), false);
        inbox.receive(key);
        StoredMessage m = awaitFinal(key.messageId());
        assertThat(m.state()).isEqualTo(MessageState.REFUSED);
        assertThat(m.detail()).contains("aws_access_key");
        assertThat(chat.sent.poll(5, TimeUnit.SECONDS).text()).contains("not passed on");
        assertThat(h.a.requestCount()).isEqualTo(before);

        hub.sendAs("desk", "chat", "customer@example.com", null, "Card: 4111\u200b1111\u200b1111\u200b1111, "
                + "again \uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11");
        String out = chat.sent.poll(5, TimeUnit.SECONDS).text();
        assertThat(out.replaceAll("[^0-9]", "")).doesNotContain("4111");
        assertThat(out).contains("[REDACTED:");
    }

    @Test
    void aForgedSendersFloodOverManyConversationsAtOnceGetsOneReplyNotOneEach() throws Exception {
        List<Inbound> flood = new java.util.ArrayList<>();
        for (int i = 0; i < 30; i++) flood.add(message("victim", "desk@x", "t-flood-" + i, "hi " + i, List.of(), false));
        flood.parallelStream().forEach(in -> {
            try {
                inbox.receive(in);
            } catch (ChannelException e) {
                throw new IllegalStateException(e);
            }
        });
        for (Inbound in : flood) assertThat(awaitFinal(in.messageId()).state()).isEqualTo(MessageState.REFUSED);
        assertThat(chat.sent.poll(5, TimeUnit.SECONDS).recipient().key()).isEqualTo("test:victim");
        assertThat(chat.sent.poll(300, TimeUnit.MILLISECONDS)).as("a second reply").isNull();
    }

    @Test
    void textFilesAreScreenedLikeTheTextItselfBeforeAnythingIsSaved() throws Exception {
        int before = h.a.requestCount();
        Attachment keys = new Attachment("creds.txt", "text/plain",
                "aws key AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".getBytes(StandardCharsets.UTF_8));
        Inbound secret = message("alice", "desk@x", "t-keys", "see file", List.of(keys), false);
        inbox.receive(secret);
        StoredMessage refused = awaitFinal(secret.messageId());
        assertThat(refused.state()).isEqualTo(MessageState.REFUSED);
        assertThat(refused.detail()).contains("privacy: file creds.txt").doesNotContain("AKIA");
        assertThat(chat.sent.poll(5, TimeUnit.SECONDS).text()).contains("not passed on").doesNotContain("AKIA");
        assertThat(workspace.resolve("inbox").resolve(refused.id())).doesNotExist();
        assertThat(h.a.requestCount()).isEqualTo(before);

        h.a.enqueue(text("Noted.", 10, 2));
        Attachment card = new Attachment("order.txt", "text/plain",
                "card 4111 1111 1111 1111, ship to floor 3".getBytes(StandardCharsets.UTF_8));
        Inbound order = message("alice", "desk@x", "t-card", "my order", List.of(card), false);
        inbox.receive(order);
        StoredMessage answered = awaitFinal(order.messageId());
        assertThat(answered.state()).as(answered.detail()).isEqualTo(MessageState.ANSWERED);
        String saved = Files.readString(workspace.resolve("inbox").resolve(answered.id()).resolve("order.txt"));
        assertThat(saved).doesNotContain("4111 1111 1111 1111").contains("[REDACTED:").contains("ship to floor 3");
        h.a.take();
        chat.sent.poll(5, TimeUnit.SECONDS);
    }

    /** A channel that records what it sends. */
    static final class RecordingChannel implements Channel {
        final String id;
        final BlockingQueue<Outbound> sent = new LinkedBlockingQueue<>();

        RecordingChannel(String id) { this.id = id; }

        @Override public String id() { return id; }
        @Override public String kind() { return "test"; }
        @Override public void start(Inbox inbox) { }
        @Override public void send(Outbound message) { sent.add(message); }
        /** Private unless the conversation's name says it is shared (a group). */
        @Override public boolean privateTo(Inbound in) { return !in.conversation().startsWith("group-"); }
        @Override public String test() throws ChannelException { return "ok"; }
        @Override public void close() { }
    }
}
