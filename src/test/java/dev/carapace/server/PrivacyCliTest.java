package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.server.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class PrivacyCliTest {

    record Result(int code, String out, String err) {}

    static Result run(byte[] stdin, String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new ByteArrayInputStream(stdin), new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void scanPrintsFindingsAsJsonWithUtf16OffsetsAndNeverValues(@TempDir Path dir) throws Exception {
        String text = "héllo 🙂 mail bob@example.com\nproject Bluebird, ssn 123-45-6789";
        Path config = dir.resolve("c.yaml");
        Files.writeString(config, "privacy:\n  dictionaries:\n    code_name: {class: confidential, terms: [bluebird]}\n");
        Result r = run(text.getBytes(StandardCharsets.UTF_8), "privacy", "scan", "--json", "--config", config.toString());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode a = new ObjectMapper().readTree(r.out());
        assertThat(a).hasSize(3);
        assertThat(a.get(0).get("type").asText()).isEqualTo("email");
        assertThat(a.get(0).get("class").asText()).isEqualTo("pii");
        assertThat(a.get(0).get("start").asInt()).isEqualTo(text.indexOf("bob@"));
        assertThat(a.get(0).get("end").asInt()).isEqualTo(text.indexOf("\n"));
        assertThat(a.get(1).get("type").asText()).isEqualTo("code_name");
        assertThat(a.get(2).get("type").asText()).isEqualTo("ssn");

        Result table = run(text.getBytes(StandardCharsets.UTF_8), "privacy", "scan", "--config", config.toString());
        assertThat(table.out()).contains("email", "2:9", "ssn").doesNotContain("bob@example.com", "123-45-6789");
    }

    @Test
    void redactPrintsTheTextWithPlaceholders() {
        Result r = run("a@b.io wrote to a@b.io and c@d.io\n".getBytes(StandardCharsets.UTF_8), "privacy", "redact");
        assertThat(r.code()).isZero();
        assertThat(r.out()).isEqualTo("<EMAIL_1> wrote to <EMAIL_1> and <EMAIL_2>\n");
    }

    @Test
    void inputThatIsNotUtf8IsRefusedSayingWhere() {
        Result r = run(new byte[]{'o', 'k', ' ', (byte) 0xC3, (byte) 0x28}, "privacy", "scan");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("not UTF-8", "byte offset 3");
    }
}
