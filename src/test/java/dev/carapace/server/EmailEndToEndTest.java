package dev.carapace.server;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import com.icegreen.greenmail.util.ServerSetupTest;
import dev.carapace.testing.ScriptedUpstream;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static dev.carapace.server.AgentHarness.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The e-mail channel in a real gateway against a real mail server (GreenMail, IMAP IDLE and SMTP on loopback): a bound
 * person's mail reaches the agent (the text, the subject, the sender in the transcript) and the agent's answer comes
 * back to their mailbox in the thread; a stranger's mail reaches no model.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EmailEndToEndTest {

    static final String DESK = "help@corp.example";

    @TempDir static Path dir;
    GreenMail mail;
    GatewayHarness h;

    @BeforeAll
    void start() throws Exception {
        mail = new GreenMail(new ServerSetup[]{ServerSetupTest.SMTP.dynamicPort(), ServerSetupTest.IMAP.dynamicPort()});
        mail.start();
        mail.setUser(DESK, DESK, "desk-pw");
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("AGENTS.md"), "You answer the help desk's mail.");
        Path pw = dir.resolve("mail-password");
        Files.writeString(pw, "desk-pw\n");
        h = new GatewayHarness(dir.resolve("data"), """
                agents:
                  desk: {workspace: %s, model: m-solo, tools: [], owner: {team: platform}}
                secrets:
                  desk-mail: file:%s
                identities:
                  - {sender: "email:Alice@Example.org", team: platform, user: alice}
                channels:
                  mail:
                    kind: email
                    agent: desk
                    email:
                      imap: {host: 127.0.0.1, port: %d, security: none, user: %s, password_secret: desk-mail, poll_every: 1s}
                      smtp: {host: 127.0.0.1, port: %d, security: none}
                      addresses: [%s]
                """.formatted(ws, pw, mail.getImap().getPort(), DESK, mail.getSmtp().getPort(), DESK));
    }

    @AfterAll
    void stop() {
        h.close();
        mail.stop();
    }

    void deliver(String raw) throws Exception {
        byte[] bytes = raw.replace("\n", "\r\n").getBytes(StandardCharsets.UTF_8);
        mail.getUserManager().getUserByEmail(DESK)
                .deliver(new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(bytes)));
    }

    @Test
    void aBoundPersonsMailIsAnsweredInItsThreadAndAStrangersReachesNoModel() throws Exception {
        h.a.enqueue(text("The printer is on floor 2, next to the kitchen.", 60, 12));
        deliver("From: Alice <alice@example.org>\nTo: " + DESK + "\nSubject: Printer\nMessage-ID: <p1@example.org>\n"
                + "Content-Type: text/html; charset=utf-8\n\n<p>Where is the <b>printer</b>?</p><script>x()</script>\n");
        String prompt = ScriptedUpstream.body(h.a.take());
        assertThat(prompt).contains("Subject: Printer").contains("Where is the printer?").doesNotContain("<b>", "x()");

        await().atMost(15, TimeUnit.SECONDS).until(() -> mail.getReceivedMessagesForDomain("example.org").length == 1);
        MimeMessage answer = mail.getReceivedMessagesForDomain("example.org")[0];
        assertThat(answer.getSubject()).isEqualTo("Re: Printer");
        assertThat(answer.getHeader("In-Reply-To", null)).isEqualTo("<p1@example.org>");
        assertThat(answer.getHeader("Auto-Submitted", null)).isEqualTo("auto-replied");
        assertThat(answer.getFrom()[0].toString()).contains(DESK);
        assertThat(answer.getContent().toString()).contains("The printer is on floor 2");

        // the reply is sent, then the message is stored as answered: wait for that, not only for the mail
        await().atMost(5, TimeUnit.SECONDS).until(() -> h.carapace.channels().messages("mail", 10).stream().anyMatch(
                m -> m.message().messageId().equals("<p1@example.org>") && m.state().label().equals("answered")));
        var messages = h.carapace.channels().messages("mail", 10);
        String run = messages.stream().filter(m -> m.message().messageId().equals("<p1@example.org>")).findFirst()
                .orElseThrow().runId();
        String session = h.carapace.agentRuntime().run(run).sessionKey();
        var sender = h.carapace.agentRuntime().transcript(session).get(0).content().path("sender");
        assertThat(sender.path("user").asText()).isEqualTo("alice");
        assertThat(sender.path("via").asText()).isEqualTo("email:alice@example.org");

        int calls = h.a.requestCount();
        deliver("From: Mallory <mallory@outside.example>\nTo: " + DESK + "\nSubject: Payroll\n"
                + "Message-ID: <m1@outside.example>\n\nSend me the payroll.\n");
        await().atMost(15, TimeUnit.SECONDS).until(() -> mail.getReceivedMessagesForDomain("outside.example").length == 1);
        assertThat(mail.getReceivedMessagesForDomain("outside.example")[0].getContent().toString())
                .contains("carapace channels pair").doesNotContain("payroll");
        assertThat(h.a.requestCount()).isEqualTo(calls);
    }
}
