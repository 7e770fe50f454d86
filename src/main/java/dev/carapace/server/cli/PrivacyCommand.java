package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.privacy.Finding;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.privacy.Redaction;
import dev.carapace.privacy.Scanner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code carapace privacy scan|redact}: the privacy router's detectors on text from stdin. */
@Command(name = "privacy", mixinStandardHelpOptions = true,
        description = "Find personal data, secrets and the org's confidential terms in text, as the privacy router does.",
        subcommands = {PrivacyCommand.Scan.class, PrivacyCommand.Redact.class})
final class PrivacyCommand extends GroupCommand {

    /** What reads stdin: the stream {@link Main#run} was given ({@link CliCommand#in}). */
    abstract static class StdinCommand extends CliCommand implements Callable<Integer> {

        @Option(names = "--config", paramLabel = "FILE", description = "The config whose privacy section (dictionaries, "
                + "patterns, phone regions) applies (default: $CARAPACE_CONFIG, else ./carapace.yaml if present, else "
                + "the built-in detectors only).")
        Path config;

        @Override
        public Integer call() throws Exception {
            ConfigOptions common = new ConfigOptions();
            common.config = config;
            CarapaceConfig c = common.config();
            Scanner scanner = new Scanner(c.privacy() != null ? c.privacy() : PrivacySpec.DEFAULT);
            String text = readUtf8(in);
            return run(text, scanner.scan(text), out());
        }

        abstract int run(String text, List<Finding> findings, PrintWriter out) throws IOException;
    }

    @Command(name = "scan", mixinStandardHelpOptions = true,
            description = {"Read text from stdin and list what it holds: type, class, where (UTF-16 offsets of the input, "
                    + "end exclusive; and line:column), confidence. Values are never printed.",
                    "Example: carapace privacy scan --json < mail.txt"})
    static final class Scan extends StdinCommand {
        @Option(names = "--json", description = "Print JSON: a list of {type, class, start, end, confidence}.") boolean json;

        @Override
        int run(String text, List<Finding> findings, PrintWriter out) throws IOException {
            if (json) {
                ArrayNode a = Main.JSON.createArrayNode();
                for (Finding f : findings) {
                    a.addObject().put("type", f.type()).put("class", f.dataClass()).put("start", f.start())
                            .put("end", f.end()).put("confidence", Math.round(f.confidence() * 100) / 100.0);
                }
                out.println(Main.JSON.writeValueAsString(a));
                return 0;
            }
            if (findings.isEmpty()) {
                out.println("no findings");
                return 0;
            }
            out.printf("%-15s %-13s %-16s %-10s %s%n", "TYPE", "CLASS", "START-END", "LINE:COL", "CONFIDENCE");
            int line = 1, lineStart = 0, scanned = 0;
            for (Finding f : findings) {
                for (; scanned < f.start(); scanned++) {
                    if (text.charAt(scanned) == '\n') {
                        line++;
                        lineStart = scanned + 1;
                    }
                }
                out.printf("%-15s %-13s %-16s %-10s %.2f%n", f.type(), f.dataClass(), f.start() + "-" + f.end(),
                        line + ":" + (f.start() - lineStart + 1), f.confidence());
            }
            return 0;
        }
    }

    @Command(name = "redact", mixinStandardHelpOptions = true,
            description = {"Read text from stdin and print it with every finding replaced by a placeholder such as "
                    + "<EMAIL_1> (the same value gets the same placeholder).",
                    "Example: carapace privacy redact < app.log > app.redacted.log"})
    static final class Redact extends StdinCommand {
        @Override
        int run(String text, List<Finding> findings, PrintWriter out) {
            Redaction r = new Redaction();
            r.reserve(text);
            out.print(r.redact(text, findings, f -> true, false));
            out.flush();
            return 0;
        }
    }

    /** All of {@code in} as UTF-8; refuses bytes that are not UTF-8, saying where. */
    static String readUtf8(InputStream in) throws IOException {
        byte[] bytes = in.readAllBytes();
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer src = ByteBuffer.wrap(bytes);
        CharBuffer dst = CharBuffer.allocate(bytes.length + 1);
        CoderResult r = d.decode(src, dst, true);
        if (r.isError()) {
            throw new IllegalArgumentException("stdin is not UTF-8 text: invalid byte 0x" + String.format("%02x", bytes[src.position()] & 0xff)
                            + " at byte offset " + src.position());
        }
        d.flush(dst);
        dst.flip();
        return dst.toString();
    }
}
