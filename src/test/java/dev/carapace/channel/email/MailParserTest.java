package dev.carapace.channel.email;

import dev.carapace.channel.Inbound;
import dev.carapace.channel.email.EmailSettings.MailServer;
import dev.carapace.channel.email.EmailSettings.Security;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;

import static dev.carapace.channel.email.EmailTestKit.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/** A mail's bytes into what the hub takes: every hostile or broken mail is read as far as it can be, never thrown. */
class MailParserTest {

    private static final String AGENT = "helpdesk@corp.example";
    private static final Instant NOW = Instant.parse("2026-12-05T10:00:00Z");

    private static EmailSettings settings(boolean requireAuthenticated) {
        return new EmailSettings(new MailServer("127.0.0.1", 143, Security.NONE, null, null), "INBOX", true,
                Duration.ofMinutes(1), null, new MailServer("127.0.0.1", 25, Security.NONE, null, null),
                List.of(AGENT, "billing@corp.example"), null, requireAuthenticated, null, 0);
    }

    private static final MailParser PARSER = new MailParser("mail", settings(false), 1000);

    private static MailParser.Read read(String mail) {
        return PARSER.parse(bytes(mail), NOW);
    }

    private static final String HEAD = """
            From: "Alice Example" <Alice@Example.ORG>
            To: Help <helpdesk@corp.example>
            Subject: Printer
            Message-ID: <m1@example.org>
            Date: Sat, 5 Dec 2026 10:00:00 +0000
            """;

    @Test
    void aPlainMailGivesSenderAddressThreadAndTextWithItsSubject() {
        Inbound in = read(HEAD + "\nThe printer is on fire.\n").inbound();
        assertThat(in.sender().kind()).isEqualTo("email");
        assertThat(in.sender().id()).isEqualTo("alice@example.org");
        assertThat(in.sender().name()).isEqualTo("Alice Example");
        assertThat(in.address()).isEqualTo(AGENT);
        assertThat(in.messageId()).isEqualTo("<m1@example.org>");
        assertThat(in.conversation()).isEqualTo("<m1@example.org> alice@example.org");
        assertThat(in.text()).isEqualTo("Subject: Printer\n\nThe printer is on fire.");
        assertThat(in.automated()).isFalse();
        assertThat(in.reply()).containsEntry("message_id", "<m1@example.org>").containsEntry("subject", "Printer")
                .containsEntry("address", AGENT).containsEntry("references", "<m1@example.org>");
    }

    @Test
    void aReplyBelongsToItsThreadsRootAndTheAddressItWasSentTo() {
        Inbound in = read("""
                From: alice@example.org
                To: someone@else.example
                Cc: Billing <BILLING@corp.example>
                Subject: Re: Re: Invoice
                Message-ID: <m3@example.org>
                In-Reply-To: <m2@corp.example>
                References: <m1@example.org> <m2@corp.example>

                Thanks!
                """).inbound();
        assertThat(in.address()).isEqualTo("billing@corp.example");
        assertThat(in.conversation()).startsWith("<m1@example.org> ");
        assertThat(in.reply().get("references")).isEqualTo("<m1@example.org> <m2@corp.example> <m3@example.org>");
        assertThat(MailThread.replySubject(in.reply().get("subject"))).isEqualTo("Re: Invoice");
        Inbound onlyParent = read("From: a@example.org\nIn-Reply-To: <p@x.example>\nMessage-ID: <c@x.example>\n\nhi\n").inbound();
        assertThat(onlyParent.conversation()).startsWith("<p@x.example> ");
    }

    @Test
    void aThreadRootIsTheSendersOwn() {
        String reply = "To: helpdesk@corp.example\nReferences: <root@example.org>\nMessage-ID: <%s@x>\n\nhi\n";
        Inbound alice = read("From: alice@example.org\n" + reply.formatted("a")).inbound();
        Inbound mallory = read("From: mallory@evil.example\n" + reply.formatted("b")).inbound();
        assertThat(alice.conversation()).isNotEqualTo(mallory.conversation());
    }

    @Test
    void aMailWithoutMessageIdGetsTheSameSyntheticIdOnEveryDelivery() {
        String mail = "From: a@example.org\nTo: helpdesk@corp.example\nSubject: x\nDate: Sat, 5 Dec 2026 10:00:00 +0000\n\nbody\n";
        String first = read("Received: from a by b; Sat, 5 Dec 2026\n" + mail).inbound().messageId();
        String again = read("Received: from c by d; Sat, 5 Dec 2026\n" + mail).inbound().messageId();
        String other = read(mail.replace("body", "other body")).inbound().messageId();
        assertThat(first).isEqualTo(again).matches("<[0-9a-f]{40}@synthetic\\.carapace\\.invalid>").isNotEqualTo(other);
    }

    @Test
    void htmlOnlyMailIsTextWithoutScriptsWithLinks() {
        Inbound in = read(HEAD + """
                Content-Type: text/html; charset=utf-8

                <html><head><style>p{color:red}</style><title>T</title></head><body>
                <p>Hello <b>team</b>,</p><script>alert('x')</script>
                <ul><li>one</li><li>two</li></ul>
                <p>See <a href="https://example.org/doc">the doc</a>.</p></body></html>
                """).inbound();
        assertThat(in.text()).contains("Hello team,").contains("- one\n- two").contains("the doc (https://example.org/doc)")
                .doesNotContain("alert").doesNotContain("color").doesNotContain("<p>");
    }

    @Test
    void alternativePrefersPlainAndFilesBecomeAttachmentsWithinTheLimit() {
        String small = Base64.getMimeEncoder().encodeToString(new byte[500]);
        String big = Base64.getMimeEncoder().encodeToString(new byte[5000]);
        Inbound in = read(HEAD + """
                MIME-Version: 1.0
                Content-Type: multipart/mixed; boundary="mix"

                --mix
                Content-Type: multipart/alternative; boundary="alt"

                --alt
                Content-Type: text/plain; charset=us-ascii

                plain words
                --alt
                Content-Type: text/html

                <p>html words</p>
                --alt--
                --mix
                Content-Type: image/png
                Content-Disposition: inline
                Content-Transfer-Encoding: base64

                %s
                --mix
                Content-Type: application/pdf; name="=?UTF-8?B?cmVwb3J0LnBkZg==?="
                Content-Disposition: attachment; filename="=?UTF-8?B?cmVwb3J0LnBkZg==?="
                Content-Transfer-Encoding: base64

                %s
                --mix--
                """.formatted(small, big)).inbound();
        assertThat(in.text()).startsWith("Subject: Printer\n\nplain words").doesNotContain("html words")
                .contains("[file report.pdf dropped: over 1000 bytes; at most 1000 are taken]");
        assertThat(in.attachments()).hasSize(1);
        assertThat(in.attachments().getFirst().mediaType()).isEqualTo("image/png");
        assertThat(in.attachments().getFirst().data()).hasSize(500);
    }

    @Test
    void encodedWordsAndCharsetsAreDecodedAndUnknownCharsetsFallBack() {
        Inbound in = read("""
                From: =?ISO-8859-1?Q?J=F6rg?= <jorg@example.de>
                To: helpdesk@corp.example
                Subject: =?UTF-8?B?R3LDvMOfZSDwn5GL?=
                Content-Type: text/plain; charset=iso-8859-1
                Content-Transfer-Encoding: quoted-printable

                Gr=FC=DFe
                """).inbound();
        assertThat(in.sender().name()).isEqualTo("Jörg");
        assertThat(in.text()).isEqualTo("Subject: Grüße 👋\n\nGrüße");
        MailParser.Read unknown = read(HEAD + "Content-Type: text/plain; charset=x-klingon-9\n\nqapla'\n");
        assertThat(unknown.inbound().text()).endsWith("qapla'");
        assertThat(unknown.problems()).anyMatch(p -> p.contains("unknown charset 'x-klingon-9'"));
    }

    /** Auto-replies, bounces, lists and loops: stored, flagged, never answered. */
    @ParameterizedTest
    @ValueSource(strings = {
            "Auto-Submitted: auto-replied\n",
            "Auto-Submitted: auto-generated\n",
            "X-Autoreply: yes\n",
            "X-Autorespond: Out of office\n",
            "Precedence: bulk\n",
            "Precedence: list\n",
            "Precedence: junk\n",
            "List-Id: <users.lists.example.org>\n",
            "List-Unsubscribe: <mailto:leave@lists.example.org>\n",
            "Return-Path: <>\n",
            "X-Loop: helpdesk@corp.example\n",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n",
    })
    void automatedMailIsFlagged(String header) {
        Inbound in = read(header + HEAD + "\n--b\n\nOut of office until Monday.\n--b--\n").inbound();
        assertThat(in.automated()).as(header).isTrue();
        assertThat(in.reply()).containsKey("automated");
    }

    @ParameterizedTest
    @ValueSource(strings = {"MAILER-DAEMON@mx.example.org", "postmaster@example.org", "helpdesk@corp.example",
            "no-reply@service.example"})
    void mailFromDaemonsAndFromOurOwnAddressIsAutomated(String from) {
        Inbound in = read("From: " + from + "\nTo: helpdesk@corp.example\nMessage-ID: <x@y>\n\nDelivery failed\n").inbound();
        assertThat(in.automated()).isTrue();
    }

    @Test
    void autoSubmittedNoIsAPerson() {
        assertThat(read("Auto-Submitted: no\n" + HEAD + "\nhello\n").inbound().automated()).isFalse();
    }

    /** The malformed corpus: each is read as far as it can be, with a problem for the log, never an exception. */
    @Test
    void aMultipartWithoutItsBoundaryIsReadAsText() {
        MailParser.Read r = read(HEAD + "Content-Type: multipart/mixed\n\nno boundary anywhere here\n");
        assertThat(r.inbound().text()).contains("no boundary anywhere here");
        assertThat(r.problems()).isNotEmpty();
    }

    @Test
    void partsNestedAHundredDeepStopAtTheLimit() {
        StringBuilder sb = new StringBuilder(HEAD + "Content-Type: multipart/mixed; boundary=\"b0\"\n\n");
        for (int i = 1; i < 100; i++) sb.append("--b").append(i - 1).append("\nContent-Type: multipart/mixed; boundary=\"b").append(i).append("\"\n\n");
        sb.append("--b99\nContent-Type: text/plain\n\ndeep text\n");
        for (int i = 99; i >= 0; i--) sb.append("--b").append(i).append("--\n");
        MailParser.Read r = read(sb.toString());
        assertThat(r.inbound().text()).contains("nested deeper than " + MailParser.MAX_DEPTH);
        assertThat(r.problems()).anyMatch(p -> p.contains("nested deeper"));
    }

    @Test
    void invalidBase64IsDecodedLeniently() {
        MailParser.Read r = read(HEAD + """
                Content-Type: multipart/mixed; boundary=b

                --b
                Content-Type: text/plain

                see file
                --b
                Content-Type: image/png
                Content-Disposition: attachment; filename=a.png
                Content-Transfer-Encoding: base64

                aGVs!!bG8g*d29y~bGQ=====
                --b--
                """);
        assertThat(r.inbound().attachments()).hasSize(1);
        assertThat(new String(r.inbound().attachments().getFirst().data())).startsWith("hello wor");
    }

    @Test
    void anUnknownTransferEncodingAndGarbageHeadersDoNotStopTheMail() {
        MailParser.Read r = read("""
                From: <<<>>>@@@
                To: helpdesk@corp.example
                Content-Type: ;;;===
                Content-Transfer-Encoding: x-martian
                Subject: =?bogus?Q?=ZZ?=

                still readable
                """);
        assertThat(r.inbound().text()).contains("still readable");
        assertThat(r.inbound().automated()).isTrue();   // no valid From: nobody to answer
        assertThat(r.inbound().sender().id()).isEqualTo("unknown");
    }

    @Test
    void binaryGarbageIsStillStored() {
        byte[] junk = new byte[4096];
        new java.util.Random(7).nextBytes(junk);
        MailParser.Read r = PARSER.parse(junk, NOW);
        assertThat(r.inbound().messageId()).isNotBlank();
        assertThat(r.inbound().automated()).isTrue();
    }

    @Test
    void headerInjectionInTheSubjectStaysOnOneLine() {
        Inbound in = read("From: a@example.org\nTo: helpdesk@corp.example\nSubject: =?UTF-8?Q?hi=0D=0ABcc:_evil@x.example?=\n\nx\n")
                .inbound();
        assertThat(in.reply().get("subject")).isEqualTo("hi Bcc: evil@x.example").doesNotContain("\r").doesNotContain("\n");
    }

    @Test
    void requireAuthenticatedMarksMailWithoutAlignedDmarcAsUnverified() {
        MailParser strict = new MailParser("mail", settings(true), 1000);
        String mail = "Authentication-Results: mx.corp.example; dkim=pass header.d=example.org; spf=pass; dmarc=%s header.from=example.org\n"
                + HEAD + "\nhi\n";
        Inbound pass = strict.parse(bytes(mail.formatted("pass")), NOW).inbound();
        Inbound fail = strict.parse(bytes(mail.formatted("fail").replace("dkim=pass", "dkim=fail")), NOW).inbound();
        Inbound none = strict.parse(bytes(HEAD + "\nhi\n"), NOW).inbound();
        Inbound otherDomain = strict.parse(bytes("Authentication-Results: mx; dkim=pass header.d=evil.example\n" + HEAD + "\nhi\n"), NOW).inbound();
        assertThat(pass.sender().id()).isEqualTo("alice@example.org");
        assertThat(pass.reply()).containsEntry("authentication", "dkim=pass spf=pass dmarc=pass");
        assertThat(fail.sender().id()).isEqualTo("unverified:alice@example.org");
        assertThat(none.sender().id()).isEqualTo("unverified:alice@example.org");
        assertThat(otherDomain.sender().id()).isEqualTo("unverified:alice@example.org");
    }

    @Test
    void aTooBigMailIsRecordedByItsHeaders() {
        MailParser.Read r = PARSER.headersOnly(bytes(HEAD + "\n"), 99_000_000, NOW);
        assertThat(r.inbound().messageId()).isEqualTo("<m1@example.org>");
        assertThat(r.inbound().text()).contains("99000000 bytes").contains("not passed on");
        assertThat(r.inbound().attachments()).isEmpty();
    }
}
