package dev.carapace.config;

import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.email.EmailSettings;
import dev.carapace.channel.email.EmailSettings.Security;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** An e-mail channel's {@code email:} block. */
class EmailConfigTest {

    @TempDir Path dir;

    private String base() throws Exception {
        return ChannelConfigs.base(dir, "a: {workspace: %s, model: m, owner: {team: t}}",
                "helpdesk-mail: env:HELPDESK_MAIL_PASSWORD") + """
                channels:
                  mail:
                    kind: email
                    agent: a
                """;
    }

    private List<String> errors(String email) throws Exception {
        return ChannelConfigs.errors(base() + email);
    }

    @Test
    void readsServersAddressesAndDefaults() throws Exception {
        CarapaceConfig c = ConfigLoader.load(base() + """
                    email:
                      imap: {host: imap.corp.example, user: helpdesk@corp.example, password_secret: helpdesk-mail, poll_every: 30s}
                      smtp: {host: smtp.corp.example, security: starttls, user: helpdesk@corp.example, password_secret: helpdesk-mail}
                      addresses: [Helpdesk@Corp.Example, billing@corp.example]
                      from_name: Corp Helpdesk
                      require_authenticated: true
                """, "t.yaml");
        ChannelSpec spec = c.channels().channels().getFirst();
        EmailSettings s = (EmailSettings) spec.settings();
        assertThat(s.imap().port()).isEqualTo(993);
        assertThat(s.imap().security()).isEqualTo(Security.TLS);
        assertThat(s.imap().passwordSecret()).isEqualTo("helpdesk-mail");
        assertThat(s.smtp().port()).isEqualTo(587);
        assertThat(s.folder()).isEqualTo("INBOX");
        assertThat(s.pollEvery()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.idle()).isTrue();
        assertThat(s.addresses()).containsExactly("helpdesk@corp.example", "billing@corp.example");
        assertThat(s.requireAuthenticated()).isTrue();
        assertThat(s.maxMessageBytes()).isEqualTo(EmailSettings.DEFAULT_MAX_MESSAGE_BYTES);
    }

    @Test
    void plainTextIsForThisMachineOnly() throws Exception {
        assertThat(errors("""
                    email:
                      imap: {host: imap.corp.example, security: none}
                      smtp: {host: 127.0.0.1, security: none}
                      addresses: [a@corp.example]
                """)).singleElement().asString().contains("t.yaml:").contains("channels.mail.email.imap.security")
                .contains("only a server on this machine").contains("imap.corp.example");
    }

    @Test
    void mistakesAreNamedWithTheirPlace() throws Exception {
        List<String> errors = errors("""
                    email:
                      imap: {host: imap.corp.example, user: a@corp.example, colour: blue}
                      smtp: {host: smtp.corp.example, user: a@corp.example, password: hunter2}
                      addresses: ["Alice <a@corp.example>"]
                """);
        assertThat(errors).anyMatch(e -> e.contains("imap") && e.contains("password_secret"))
                .anyMatch(e -> e.contains("colour"))
                .anyMatch(e -> e.contains("smtp.password") && e.contains("secrets are not written in the config"))
                .anyMatch(e -> e.contains("not a plain e-mail address"))
                .noneMatch(e -> e.contains("hunter2"));
        assertThat(errors("    email: {smtp: {host: s.example}, addresses: [a@corp.example]}\n"))
                .anyMatch(e -> e.contains("imap"));
    }
}
