package dev.carapace.channel.email;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import com.icegreen.greenmail.util.ServerSetupTest;
import dev.carapace.channel.Attachment;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.Outbound;
import dev.carapace.channel.Sender;
import dev.carapace.channel.email.EmailTestKit.MemoryState;
import dev.carapace.channel.email.EmailTestKit.RecordingInbox;
import dev.carapace.channel.email.EmailTestKit.TcpProxy;
import jakarta.mail.Flags;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Store;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.carapace.channel.email.EmailTestKit.PASSWORD;
import static dev.carapace.channel.email.EmailTestKit.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The channel against a real mail server in-process (GreenMail: SMTP, and IMAP with IDLE), one for the class. */
class EmailChannelTest {

    private static GreenMail server;
    private static final AtomicInteger accounts = new AtomicInteger();
    private final List<AutoCloseable> closing = new ArrayList<>();

    @BeforeAll
    static void startServer() {
        server = new GreenMail(new ServerSetup[]{ServerSetupTest.SMTP.dynamicPort(), ServerSetupTest.IMAP.dynamicPort()});
        server.start();
    }

    @AfterAll
    static void stopServer() {
        server.stop();
    }

    @org.junit.jupiter.api.AfterEach
    void closeChannels() throws Exception {
        for (AutoCloseable c : closing) c.close();
    }

    /** A fresh account (mailbox) on the shared server. */
    private static String account() {
        String address = "agent" + accounts.incrementAndGet() + "@corp.example";
        server.setUser(address, address, PASSWORD);
        return address;
    }

    private static int imapPort() { return server.getImap().getPort(); }

    private static int smtpPort() { return server.getSmtp().getPort(); }

    private EmailChannel start(EmailSettings settings, MemoryState state, RecordingInbox inbox) {
        EmailChannel channel = new EmailChannel(EmailTestKit.context(settings, state), Duration.ofMillis(100));
        closing.add(channel);
        channel.start(inbox);
        await().atMost(10, TimeUnit.SECONDS).until(() -> channel.mode() != null);
        return channel;
    }

    private static void deliver(String to, String raw) throws Exception {
        MimeMessage m = new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(bytes(raw)));
        server.getUserManager().getUserByEmail(to).deliver(m);
    }

    private static String mail(String to, String id, String subject, String body) {
        return "From: Alice <alice@example.org>\nTo: " + to + "\nSubject: " + subject + "\nMessage-ID: " + id
                + "\nDate: Sat, 5 Dec 2026 10:00:00 +0000\n\n" + body + "\n";
    }

    /** The mails of the account, with their \Seen flags, read over IMAP as another client would. */
    private static List<Boolean> seenFlags(String address) throws Exception {
        Store store = Session.getInstance(new Properties()).getStore("imap");
        store.connect("127.0.0.1", imapPort(), address, PASSWORD);
        try {
            Folder f = store.getFolder("INBOX");
            f.open(Folder.READ_ONLY);
            List<Boolean> out = new ArrayList<>();
            for (Message m : f.getMessages()) out.add(m.isSet(Flags.Flag.SEEN));
            return out;
        } finally {
            store.close();
        }
    }

    private static MimeMessage sentTo(String domain) {
        await().atMost(10, TimeUnit.SECONDS).until(() -> server.getReceivedMessagesForDomain(domain).length > 0);
        return server.getReceivedMessagesForDomain(domain)[0];
    }

    @Test
    void aMailArrivesOverIdleAndTheAnswerGoesBackInItsThread() throws Exception {
        String agent = account();
        MemoryState state = new MemoryState();
        RecordingInbox inbox = new RecordingInbox();
        EmailChannel channel = start(EmailTestKit.settings(agent, imapPort(), smtpPort(), true, Duration.ofMinutes(5)), state, inbox);
        assertThat(channel.mode()).isEqualTo("idle");

        deliver(agent, mail(agent, "<q1@example.org>", "Re: Printer", "It is on fire again.").replace(
                "Date:", "References: <q0@example.org>\nIn-Reply-To: <q0@example.org>\nDate:"));
        Inbound in = inbox.next();   // IDLE: no poll for 5 minutes, so only the server's word brings it
        assertThat(in.sender()).isEqualTo(new Sender("email", "alice@example.org", "Alice"));
        assertThat(in.address()).isEqualTo(agent);
        assertThat(in.conversation()).isEqualTo("<q0@example.org> alice@example.org");
        assertThat(in.text()).isEqualTo("Subject: Re: Printer\n\nIt is on fire again.");
        await().atMost(5, TimeUnit.SECONDS).until(() -> seenFlags(agent).equals(List.of(true)));
        assertThat(state.state).containsKey("last_uid:INBOX").containsKey("uidvalidity:INBOX");

        byte[] voice = "OggS-fake-audio".getBytes();
        channel.send(new Outbound("mail", in.sender(), in.conversation(), "Calling the fire brigade.",
                List.of(new Attachment("answer.ogg", "audio/ogg", voice)), in.reply(), "msg_1:answer"));
        MimeMessage reply = sentTo("example.org");
        assertThat(reply.getSubject()).isEqualTo("Re: Printer");
        assertThat(reply.getHeader("In-Reply-To", null)).isEqualTo("<q1@example.org>");
        assertThat(reply.getHeader("References", null)).isEqualTo("<q0@example.org> <q1@example.org>");
        assertThat(reply.getHeader("From", null)).contains(agent).contains("Help Desk");
        assertThat(reply.getHeader("Auto-Submitted", null)).isEqualTo("auto-replied");
        assertThat(reply.getHeader("X-Loop", null)).isEqualTo(agent);
        assertThat(reply.getMessageID()).isEqualTo(MailThread.replyId("msg_1:answer", agent));
        MimeMultipart parts = (MimeMultipart) reply.getContent();
        assertThat(parts.getCount()).isEqualTo(2);
        assertThat(((String) parts.getBodyPart(0).getContent()).strip()).isEqualTo("Calling the fire brigade.");
        assertThat(parts.getBodyPart(1).getFileName()).isEqualTo("answer.ogg");
        assertThat(parts.getBodyPart(1).getInputStream().readAllBytes()).isEqualTo(voice);

        // another Carapace agent receiving this answer never answers it: no ping-pong
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        reply.writeTo(raw);
        EmailSettings other = EmailTestKit.settings("alice@example.org", 1, 1, true, Duration.ofMinutes(1));
        assertThat(new MailParser("other", other, 1000).parse(raw.toByteArray(), Instant.now()).inbound().automated()).isTrue();
        // nor does this one if it comes back
        assertThat(new MailParser("mail", EmailTestKit.settings(agent, 1, 1, true, Duration.ofMinutes(1)), 1000)
                .parse(raw.toByteArray(), Instant.now()).inbound().automated()).isTrue();
    }

    @Test
    void aRedeliveredMailIsTakenOnceAndARestartDoesNotTakeAgainWhatWasTaken() throws Exception {
        String agent = account();
        MemoryState state = new MemoryState();
        RecordingInbox inbox = new RecordingInbox();
        EmailSettings settings = EmailTestKit.settings(agent, imapPort(), smtpPort(), true, Duration.ofMinutes(5));
        EmailChannel first = start(settings, state, inbox);
        deliver(agent, mail(agent, "<d1@example.org>", "Once", "one"));
        deliver(agent, mail(agent, "<d1@example.org>", "Once", "one"));
        deliver(agent, mail(agent, "<d2@example.org>", "Twice", "two"));
        assertThat(inbox.next().messageId()).isEqualTo("<d1@example.org>");
        assertThat(inbox.next().messageId()).isEqualTo("<d2@example.org>");
        await().atMost(5, TimeUnit.SECONDS).until(() -> seenFlags(agent).equals(List.of(true, true, true)));
        assertThat(inbox.duplicates.get()).isEqualTo(1);
        first.close();

        // a restart: the mails already taken are not taken again (their UIDs are at or below the one remembered)
        deliver(agent, mail(agent, "<d3@example.org>", "Three", "three"));
        start(settings, state, inbox);
        assertThat(inbox.next().messageId()).isEqualTo("<d3@example.org>");
        assertThat(inbox.duplicates.get()).isEqualTo(1);
    }

    @Test
    void aMailTheInboxCannotTakeNowStaysUnseenAndIsTakenLater() throws Exception {
        String agent = account();
        RecordingInbox inbox = new RecordingInbox();
        inbox.refuseRetryable.set(1);
        start(EmailTestKit.settings(agent, imapPort(), smtpPort(), true, Duration.ofMillis(200)), new MemoryState(), inbox);
        deliver(agent, mail(agent, "<r1@example.org>", "Retry", "later"));
        assertThat(inbox.next().messageId()).isEqualTo("<r1@example.org>");
        assertThat(inbox.refuseRetryable.get()).isZero();
    }

    @Test
    void withIdleOffTheFolderIsPolled() throws Exception {
        String agent = account();
        RecordingInbox inbox = new RecordingInbox();
        EmailChannel channel = start(EmailTestKit.settings(agent, imapPort(), smtpPort(), false, Duration.ofMillis(200)),
                new MemoryState(), inbox);
        assertThat(channel.mode()).isEqualTo("poll");
        deliver(agent, mail(agent, "<p1@example.org>", "Poll", "polled"));
        assertThat(inbox.next().text()).endsWith("polled");
    }

    @Test
    void aServerWithoutIdleIsPolled() throws Exception {
        String agent = account();
        RecordingInbox inbox = new RecordingInbox();
        try (TcpProxy proxy = new TcpProxy(imapPort(), true)) {
            EmailChannel channel = start(EmailTestKit.settings(agent, proxy.port(), smtpPort(), true, Duration.ofMillis(200)),
                    new MemoryState(), inbox);
            assertThat(channel.mode()).isEqualTo("poll");
            deliver(agent, mail(agent, "<n1@example.org>", "No IDLE", "still arrives"));
            assertThat(inbox.next().text()).endsWith("still arrives");
        }
    }

    @Test
    void aConnectionDroppedMidIdleIsMadeAgainAndMailSentMeanwhileArrives() throws Exception {
        String agent = account();
        RecordingInbox inbox = new RecordingInbox();
        try (TcpProxy proxy = new TcpProxy(imapPort(), false)) {
            EmailChannel channel = start(EmailTestKit.settings(agent, proxy.port(), smtpPort(), true, Duration.ofMinutes(5)),
                    new MemoryState(), inbox);
            deliver(agent, mail(agent, "<o1@example.org>", "Before", "before"));
            assertThat(inbox.next().messageId()).isEqualTo("<o1@example.org>");

            proxy.refuse = true;
            proxy.cut();                                   // the server goes away mid-IDLE
            deliver(agent, mail(agent, "<o2@example.org>", "During", "during the outage"));
            assertThat(inbox.received.poll(500, TimeUnit.MILLISECONDS)).isNull();
            proxy.refuse = false;                          // and comes back

            assertThat(inbox.next().messageId()).isEqualTo("<o2@example.org>");
            assertThat(channel.connections()).isGreaterThanOrEqualTo(2);
            await().atMost(5, TimeUnit.SECONDS).until(() -> "idle".equals(channel.mode()));
            deliver(agent, mail(agent, "<o3@example.org>", "After", "after"));
            assertThat(inbox.next().messageId()).isEqualTo("<o3@example.org>");
        }
    }

    @Test
    void aMailOverTheSizeLimitIsRecordedByItsHeadersAndTheLoopGoesOn() throws Exception {
        String agent = account();
        RecordingInbox inbox = new RecordingInbox();
        EmailSettings base = EmailTestKit.settings(agent, imapPort(), smtpPort(), true, Duration.ofMinutes(5));
        EmailSettings small = new EmailSettings(base.imap(), base.folder(), true, base.pollEvery(), base.idleRefresh(),
                base.smtp(), base.addresses(), null, false, null, 64 * 1024);
        start(small, new MemoryState(), inbox);
        deliver(agent, mail(agent, "<big@example.org>", "Huge", "x".repeat(200_000)));
        deliver(agent, mail(agent, "<small@example.org>", "Small", "fine"));
        Inbound big = inbox.next();
        assertThat(big.messageId()).isEqualTo("<big@example.org>");
        assertThat(big.text()).contains("not passed on").doesNotContain("xxxx");
        assertThat(inbox.next().messageId()).isEqualTo("<small@example.org>");
    }

    @Test
    void testLogsInToBothAndSaysWhetherIdleIsThere() throws Exception {
        String agent = account();
        EmailChannel channel = new EmailChannel(EmailTestKit.context(
                EmailTestKit.settings(agent, imapPort(), smtpPort(), true, Duration.ofMinutes(1)), new MemoryState()));
        assertThat(channel.test()).contains("IMAP 127.0.0.1:" + imapPort()).contains("IDLE yes").contains("SMTP");
        EmailSettings wrongUser = EmailTestKit.settings("nobody@corp.example", imapPort(), smtpPort(), true, Duration.ofMinutes(1));
        EmailChannel bad = new EmailChannel(EmailTestKit.context(wrongUser, new MemoryState()));
        assertThatThrownBy(bad::test).isInstanceOf(ChannelException.class).hasMessageContaining("IMAP")
                .hasMessageNotContaining(PASSWORD);
    }

    @Test
    void noRecipientOrSubjectCanAddAHeaderOrARecipient() throws Exception {
        String agent = account();
        EmailChannel channel = new EmailChannel(EmailTestKit.context(
                EmailTestKit.settings(agent, imapPort(), smtpPort(), true, Duration.ofMinutes(1)), new MemoryState()));
        for (String evil : List.of("bob@inject.example\r\nBcc: evil@inject.example", "bob@inject.example, evil@inject.example",
                "Bob <bob@inject.example>", "bob@inject.example\nX-Evil: 1")) {
            Outbound out = new Outbound("mail", new Sender("email", evil, null), "c", "hi", List.of(), Map.of(), "k");
            assertThatThrownBy(() -> channel.send(out)).isInstanceOf(ChannelException.class)
                    .satisfies(e -> assertThat(((ChannelException) e).retryable()).isFalse());
        }
        Map<String, String> reply = Map.of("subject", "Hi\r\nBcc: evil@inject.example", "message_id",
                "<a@x>\r\nBcc: evil@inject.example", "references", "<a@x>\r\nX-Evil: 1 <b@y>", "address", "evil@inject.example");
        channel.send(new Outbound("mail", new Sender("email", "carol@inject.example", null), "c", "hi", List.of(), reply, "k2"));
        MimeMessage sent = sentTo("inject.example");
        assertThat(server.getReceivedMessagesForDomain("inject.example")).hasSize(1);
        assertThat(sent.getSubject()).isEqualTo("Re: Hi Bcc: evil@inject.example");
        assertThat(sent.getHeader("Bcc")).isNull();
        assertThat(sent.getHeader("X-Evil")).isNull();
        assertThat(sent.getHeader("In-Reply-To", null)).isEqualTo("<a@x>");
        assertThat(sent.getHeader("References", null)).isEqualTo("<a@x> <b@y>");
        assertThat(sent.getHeader("From", null)).contains(agent);   // never an address the mail named
    }
}
