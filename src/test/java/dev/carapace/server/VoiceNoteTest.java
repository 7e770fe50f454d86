package dev.carapace.server;

import dev.carapace.channel.Access;
import dev.carapace.channel.AgentRoute;
import dev.carapace.channel.Attachment;
import dev.carapace.channel.ChannelAudit;
import dev.carapace.channel.ChannelEvents;
import dev.carapace.channel.ChannelHub;
import dev.carapace.channel.ChannelPrivacy;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.IdentityBinding;
import dev.carapace.channel.Identities;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.Outbound;
import dev.carapace.channel.Sender;
import dev.carapace.channel.UnknownSenders;
import dev.carapace.server.adapter.ChannelVoice;
import dev.carapace.server.adapter.StoreChannels;
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
import java.util.concurrent.TimeUnit;

import static dev.carapace.server.AgentHarness.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A voice note on a chat channel, through a real gateway: transcribed by the transcription model as its sender (the
 * upstream gets the audio as multipart), handled as text by the agent, and answered with text and a spoken answer
 * (the local espeak-ng voice).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VoiceNoteTest {

    @TempDir static Path dir;
    GatewayHarness h;
    ChannelHub hub;
    final ChannelHubTest.RecordingChannel chat = new ChannelHubTest.RecordingChannel("chat");

    @BeforeAll
    void start() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        h = new GatewayHarness(dir.resolve("data"), """
                agents:
                  desk: {workspace: %s, model: m-solo, tools: [], owner: {team: platform}}
                """.formatted(ws), null, """
                local-voice: {kind: espeak, timeout: 10s}
                """, """
                m-whisper:
                  kind: transcription
                  tier: free
                  price: {per_minute: 0.006}
                  deployments: [{provider: a, model: whisper-1}]
                m-espeak:
                  kind: speech
                  tier: free
                  price: {per_million_characters: 0}
                  deployments: [{provider: local-voice, model: en-us}]
                """);
        StoreChannels store = new StoreChannels(h.carapace.store().channelRows());
        ChannelSpec spec = new ChannelSpec("chat", "telegram", List.of(new AgentRoute("*", "desk", Access.ALLOW)),
                UnknownSenders.IGNORE, 1 << 20, ChannelSpec.DEFAULT_ATTACHMENT_TYPES, null);
        hub = new ChannelHub(List.of(spec), store, new Identities("acme", List.of(new IdentityBinding("telegram:7",
                "platform", "alice", "config", Instant.now())), store, ChannelAudit.NONE, Clock.systemUTC()),
                h.carapace.agentRuntime().agents(), h.carapace.agentRuntime(), ChannelPrivacy.NONE, ChannelAudit.NONE,
                new ChannelEvents(), new ChannelVoice(h.carapace.voice()), Clock.systemUTC(), Duration.ofMillis(10));
        hub.add(chat);
        hub.start();
    }

    @AfterAll
    void stop() {
        hub.close();
        h.close();
    }

    @Test
    void aVoiceNoteIsTranscribedAnsweredAsTextAndSpokenBack() throws Exception {
        h.a.enqueue(ScriptedUpstream.openAiTranscription("where is the printer", 2), text("On floor two.", 20, 4));
        byte[] ogg = "OggS voice note bytes".getBytes(StandardCharsets.US_ASCII);
        hub.inbox().receive(new Inbound("chat", "u1", new Sender("telegram", "7", "Alice"), "42", "42", "",
                List.of(new Attachment("voice.ogg", "audio/ogg", ogg)), Map.of(), false, Instant.now()));

        String transcription = ScriptedUpstream.body(h.a.take());
        assertThat(transcription).contains("OggS voice note bytes").contains("whisper-1");
        String prompt = ScriptedUpstream.body(h.a.take());
        assertThat(prompt).contains("[voice note, transcribed]").contains("where is the printer");

        Outbound answer = chat.sent.poll(15, TimeUnit.SECONDS);
        assertThat(answer).isNotNull();
        assertThat(answer.text()).isEqualTo("On floor two.");
        assertThat(answer.attachments()).hasSize(1);
        Attachment spoken = answer.attachments().get(0);
        assertThat(spoken.mediaType()).startsWith("audio/");
        assertThat(new String(spoken.data(), 0, 4, StandardCharsets.US_ASCII)).isEqualTo("RIFF");
        assertThat(spoken.data().length).isGreaterThan(1000);
    }
}
