package dev.carapace.server;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import com.icegreen.greenmail.util.ServerSetupTest;
import dev.carapace.channel.Access;
import dev.carapace.channel.AgentRoute;
import dev.carapace.channel.ChannelAudit;
import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.ChannelEvents;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.ChannelHub;
import dev.carapace.channel.ChannelPrivacy;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.ChannelStore;
import dev.carapace.channel.Identities;
import dev.carapace.channel.MessageState;
import dev.carapace.channel.Secrets;
import dev.carapace.channel.StoredMessage;
import dev.carapace.channel.UnknownSenders;
import dev.carapace.channel.email.EmailSettings;
import dev.carapace.channel.email.EmailSettings.MailServer;
import dev.carapace.channel.email.EmailSettings.Security;
import dev.carapace.server.adapter.StoreChannels;
import dev.carapace.store.Store;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The e-mail channel through the real {@link ChannelHub} and a real SQLite store: an unknown sender's mail is stored
 * and answered in its thread with a pairing code, an auto-reply is stored and never answered, the channel's IMAP state
 * lives in the store, and a restart that sees a mail again does not store it twice. (A bound sender's mail starting an
 * agent run is the gateway's end-to-end test.)
 */
class EmailHubTest {

    private static final String AGENT = "helpdesk@corp.example";
    private static GreenMail server;

    @TempDir Path dir;

    @BeforeAll
    static void startServer() {
        server = new GreenMail(new ServerSetup[]{ServerSetupTest.SMTP.dynamicPort(), ServerSetupTest.IMAP.dynamicPort()});
        server.start();
        server.setUser(AGENT, AGENT, "pw");
    }

    @AfterAll
    static void stopServer() {
        server.stop();
    }

    private static final Secrets SECRETS = new Secrets() {
        @Override
        public String value(String name) throws ChannelException {
            if (name.equals("mail")) return "pw";
            throw new ChannelException("no secret " + name, false);
        }

        @Override
        public boolean has(String name) { return name.equals("mail"); }
    };

    private ChannelHub hub(ChannelStore store) {
        EmailSettings settings = new EmailSettings(
                new MailServer("127.0.0.1", server.getImap().getPort(), Security.NONE, AGENT, "mail"), "INBOX", true,
                Duration.ofSeconds(1), null, new MailServer("127.0.0.1", server.getSmtp().getPort(), Security.NONE, null, null),
                List.of(AGENT), null, false, null, 0);
        ChannelSpec spec = new ChannelSpec("mail", "email", List.of(new AgentRoute("*", "helpdesk", Access.ALLOW)),
                UnknownSenders.PAIR, ChannelSpec.DEFAULT_MAX_ATTACHMENT_BYTES, ChannelSpec.DEFAULT_ATTACHMENT_TYPES, settings);
        Clock clock = Clock.systemUTC();
        ChannelHub hub = new ChannelHub(List.of(spec), store, new Identities("org", List.of(), store, ChannelAudit.NONE, clock),
                null, null, ChannelPrivacy.NONE, ChannelAudit.NONE, new ChannelEvents(), null, clock, Duration.ofMillis(100));
        hub.add(ChannelWiring.build(new ChannelContext(spec, SECRETS, store, clock), null));
        hub.start();
        return hub;
    }

    private static void deliver(String raw) throws Exception {
        byte[] bytes = raw.replace("\n", "\r\n").getBytes(StandardCharsets.UTF_8);
        server.getUserManager().getUserByEmail(AGENT)
                .deliver(new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(bytes)));
    }

    private static StoredMessage stored(ChannelStore store, String messageId, MessageState state) {
        await().atMost(10, TimeUnit.SECONDS).until(() -> store.recent("mail", 10).stream()
                .anyMatch(m -> m.message().messageId().equals(messageId) && m.state() == state));
        return store.recent("mail", 10).stream().filter(m -> m.message().messageId().equals(messageId)).findFirst().orElseThrow();
    }

    @Test
    void anUnknownSenderIsAnsweredInThreadAnAutoReplyNeverAndARestartStoresNothingTwice() throws Exception {
        String person = "From: Stranger <stranger@outside.example>\nTo: " + AGENT + "\nSubject: Hello\n"
                + "Message-ID: <s1@outside.example>\n\nCan you help?\n";
        String vacation = "From: bot@away.example\nTo: " + AGENT + "\nSubject: Out of office\nAuto-Submitted: auto-replied\n"
                + "Message-ID: <v1@away.example>\n\nI am away.\n";
        try (Store db = Store.open("jdbc:sqlite:" + dir.resolve("c.db"), null, null, 2)) {
            ChannelStore store = new StoreChannels(db.channelRows());
            try (ChannelHub hub = hub(store)) {
                deliver(person);
                deliver(vacation);
                StoredMessage refused = stored(store, "<s1@outside.example>", MessageState.REFUSED);
                assertThat(refused.message().sender().key()).isEqualTo("email:stranger@outside.example");
                assertThat(refused.message().text()).isEqualTo("Subject: Hello\n\nCan you help?");
                stored(store, "<v1@away.example>", MessageState.IGNORED);

                await().atMost(10, TimeUnit.SECONDS).until(() -> server.getReceivedMessagesForDomain("outside.example").length == 1);
                MimeMessage pairing = server.getReceivedMessagesForDomain("outside.example")[0];
                assertThat(pairing.getSubject()).isEqualTo("Re: Hello");
                assertThat(pairing.getHeader("In-Reply-To", null)).isEqualTo("<s1@outside.example>");
                assertThat(pairing.getHeader("Auto-Submitted", null)).isEqualTo("auto-replied");
                assertThat(pairing.getContent().toString()).contains("carapace channels pair");
                assertThat(server.getReceivedMessagesForDomain("away.example")).isEmpty();
                assertThat(store.state("mail", "last_uid:INBOX")).contains("2");
            }

            // the same mail delivered again after a restart, and the remembered UID lost: stored once all the same
            store.putState("mail", "uidvalidity:INBOX", "0", java.time.Instant.now());
            deliver(person.replace("Can you help?", "Can you help?"));
            deliver("From: stranger@outside.example\nTo: " + AGENT + "\nSubject: again\nMessage-ID: <s2@outside.example>\n\nhi\n");
            try (ChannelHub hub = hub(store)) {
                stored(store, "<s2@outside.example>", MessageState.REFUSED);
                assertThat(store.recent("mail", 10)).hasSize(3);
                assertThat(server.getReceivedMessagesForDomain("outside.example")).hasSize(1);   // one pairing a day
            }
        }
    }
}
