package dev.carapace.channel.email;

import dev.carapace.channel.ChannelException;
import dev.carapace.channel.Outbound;
import dev.carapace.channel.Sender;
import dev.carapace.channel.email.EmailTestKit.MemoryState;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What a failed send tells the hub, against a scripted SMTP server speaking the real protocol: a 4xx reply or a
 * connection that fails may pass (retryable), a 5xx will not.
 */
class SmtpFailureTest {

    /** Answers every command with 250 except the one starting with {@code failOn}, which gets {@code reply}. */
    private static ServerSocket smtp(String failOn, String reply) throws IOException {
        ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            try (Socket s = server.accept(); OutputStream out = s.getOutputStream();
                 BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII))) {
                out.write("220 scripted ESMTP\r\n".getBytes());
                String line;
                boolean data = false;
                while ((line = in.readLine()) != null) {
                    if (data) {
                        if (line.equals(".")) {
                            data = false;
                            out.write((failOn.equals(".") ? reply : "250 queued") .concat("\r\n").getBytes());
                        }
                        continue;
                    }
                    String cmd = line.toUpperCase();
                    String answer = cmd.startsWith(failOn) ? reply
                            : cmd.startsWith("EHLO") ? "250-scripted\r\n250 8BITMIME"
                            : cmd.startsWith("DATA") ? "354 go on"
                            : cmd.startsWith("QUIT") ? "221 bye" : "250 ok";
                    if (cmd.startsWith("DATA") && !failOn.equals("DATA")) data = true;
                    out.write((answer + "\r\n").getBytes());
                    out.flush();
                    if (cmd.startsWith("QUIT")) break;
                }
            } catch (IOException e) {
                // the client went away
            }
        });
        return server;
    }

    private static ChannelException sendThrough(int port) {
        EmailSettings settings = EmailTestKit.settings("agent@corp.example", 1, port, true, Duration.ofMinutes(1));
        EmailChannel channel = new EmailChannel(EmailTestKit.context(settings, new MemoryState()));
        Outbound out = new Outbound("mail", new Sender("email", "alice@example.org", null), "c", "hi", List.of(),
                Map.of("subject", "x", "message_id", "<a@b>"), "k");
        try {
            channel.send(out);
            throw new AssertionError("sent");
        } catch (ChannelException e) {
            return e;
        }
    }

    @Test
    void aDeferredRecipientIsRetryable() throws Exception {
        try (ServerSocket s = smtp("RCPT", "451 4.7.1 greylisted, try again later")) {
            ChannelException e = sendThrough(s.getLocalPort());
            assertThat(e.retryable()).isTrue();
            assertThat(e.getMessage()).contains("451");
        }
    }

    @Test
    void aDeferredMessageIsRetryable() throws Exception {
        try (ServerSocket s = smtp(".", "452 4.3.1 insufficient system storage")) {
            ChannelException e = sendThrough(s.getLocalPort());
            assertThat(e.retryable()).isTrue();
            assertThat(e.getMessage()).contains("452");
        }
    }

    @Test
    void aRefusedRecipientIsNotRetryable() throws Exception {
        try (ServerSocket s = smtp("RCPT", "550 5.1.1 no such user")) {
            ChannelException e = sendThrough(s.getLocalPort());
            assertThat(e.retryable()).isFalse();
            assertThat(e.getMessage()).contains("550");
        }
    }

    @Test
    void aRefusedMessageIsNotRetryable() throws Exception {
        try (ServerSocket s = smtp(".", "554 5.7.1 rejected as spam")) {
            ChannelException e = sendThrough(s.getLocalPort());
            assertThat(e.retryable()).isFalse();
            assertThat(e.getMessage()).contains("554");
        }
    }

    @Test
    void aServerThatIsNotThereIsRetryable() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        assertThat(sendThrough(port).retryable()).isTrue();
    }

    @Test
    void noPlainTextToAnotherHost() {
        EmailSettings remote = new EmailSettings(new EmailSettings.MailServer("mail.example.org", 143,
                EmailSettings.Security.NONE, null, null), "INBOX", true, null, null,
                new EmailSettings.MailServer("127.0.0.1", 25, EmailSettings.Security.NONE, null, null),
                List.of("a@corp.example"), null, false, null, 0);
        assertThatThrownBy(() -> new EmailChannel(EmailTestKit.context(remote, new MemoryState())))
                .hasMessageContaining("security: none").hasMessageContaining("mail.example.org");
        assertThat(EmailSettings.isLoopback("localhost")).isTrue();
        assertThat(EmailSettings.isLoopback("127.0.0.1")).isTrue();
        assertThat(EmailSettings.isLoopback("[::1]")).isTrue();
        assertThat(EmailSettings.isLoopback("127.0.0.1.evil.example")).isFalse();
        assertThat(EmailSettings.isLoopback("localhost.evil.example")).isFalse();
    }
}
