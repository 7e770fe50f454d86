package dev.carapace.skill.scan;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scanner against a labelled corpus ({@code skill-scan-corpus}): malicious skills modelled on the ones reported
 * on ClawHub (the ClawHavoc droppers, password-protected "prerequisites", reverse shells in scripts, credential and
 * wallet theft, prompt injection, hidden Unicode) and benign ones (the 51 real OpenClaw skills of the 52-file fixture in {@code openclaw-skills}, plus hand-written
 * skills that use curl installers from their own host, mention .env, use emoji sequences, JWT samples, LAN URLs...).
 * The malicious skills named {@code heldout-*} were written after the first rules were frozen, as a fairer estimate:
 * the frozen rules blocked 10 of those 12 (an .exe download link, and "include the contents of ~/.npmrc" in your
 * reply, went through); two checks were added after that run (program downloads, "contents of" a credential store). A skill is "blocked" when it has a finding of high or critical severity: it then needs an admin's approval before
 * anyone can install it. Precision and recall are printed; recall must be at least 0.9 and no benign skill may be
 * blocked.
 */
class SkillScanCorpusTest {

    private final SkillScanner scanner = new SkillScanner();
    private long scannedBytes;

    @Test
    void maliciousSkillsAreBlockedAndBenignOnesNever() throws Exception {
        Path corpus = Path.of(getClass().getResource("/skill-scan-corpus").toURI());
        List<Path> malicious = skills(corpus.resolve("malicious"));
        List<Path> openclaw = skills(Path.of(getClass().getResource("/openclaw-skills/LICENSE").toURI()).getParent());
        List<Path> benign = new ArrayList<>(skills(corpus.resolve("benign")));
        benign.addAll(openclaw);
        assertTrue(malicious.size() >= 25, "at least 25 malicious skills; have " + malicious.size());
        assertTrue(benign.size() >= 25, "at least 25 benign skills; have " + benign.size());
        assertEquals(51, openclaw.size(),
                "all 51 real OpenClaw skills (the fixture's 52 files with its LICENSE) are in the benign set");

        long start = System.nanoTime();
        List<String> missed = new ArrayList<>();
        int caught = 0, heldOut = 0, heldOutCaught = 0;
        for (Path skill : malicious) {
            ScanReport r = scan(skill);
            boolean held = skill.getFileName().toString().startsWith("heldout-");
            if (held) heldOut++;
            if (r.blocking()) {
                caught++;
                if (held) heldOutCaught++;
            } else {
                missed.add(skill.getFileName() + " " + r.findings());
            }
        }
        List<String> wronglyBlocked = new ArrayList<>();
        int benignWithFindings = 0;
        for (Path skill : benign) {
            ScanReport r = scan(skill);
            if (!r.findings().isEmpty()) benignWithFindings++;
            if (r.blocking()) {
                wronglyBlocked.add(skill.getFileName() + ": " + r.findings().stream().filter(f -> f.severity().blocks()).toList());
            }
        }
        long micros = (System.nanoTime() - start) / 1000;
        double recall = caught / (double) malicious.size();
        double precision = caught / (double) (caught + wronglyBlocked.size());
        System.out.printf(Locale.ROOT, "skill scan corpus: %d malicious, %d benign; blocked %d malicious, %d benign; "
                        + "precision %.3f, recall %.3f; benign skills with only non-blocking findings: %d%n",
                malicious.size(), benign.size(), caught, wronglyBlocked.size(), precision, recall, benignWithFindings);
        System.out.printf(Locale.ROOT, "skill scan corpus: %d skills (%d bytes) scanned in %d ms, %.1f ms per skill%n",
                malicious.size() + benign.size(), scannedBytes, micros / 1000, micros / 1000.0 / (malicious.size() + benign.size()));
        System.out.printf(Locale.ROOT, "skill scan corpus: held out (written after the first rules; 10 of 12 with those): %d of %d blocked%n",
                heldOutCaught, heldOut);
        missed.forEach(m -> System.out.println("  missed: " + m));
        assertEquals(List.of(), wronglyBlocked, "no benign skill may be blocked");
        assertTrue(recall >= 0.9, "recall " + recall + " under 0.9; missed: " + missed);
    }

    @Test
    void everyMaliciousSkillIsFlaggedForTheReasonItWasWritten() throws Exception {
        Path corpus = Path.of(getClass().getResource("/skill-scan-corpus/malicious").toURI());
        Map<String, String> expected = Map.ofEntries(
                Map.entry("clawhavoc-clawhub-cli", "encoded-payload"), Map.entry("clawhavoc-deepresearch", "encoded-payload"),
                Map.entry("clawhavoc-provider-required", "password-archive"), Map.entry("polymarket-traiding-bot", "password-archive"),
                Map.entry("polymarket-all-in-one", "download-exec"), Map.entry("reverse-shell-setup", "reverse-shell"),
                Map.entry("node-env-exfil", "env-dump"), Map.entry("aws-creds-discord", "credential-read"),
                Map.entry("ignore-previous-elon", "disable-safety"), Map.entry("bidi-trojan-source", "hidden-unicode"),
                Map.entry("unicode-tag-smuggling", "hidden-unicode"), Map.entry("homoglyph-host", "hidden-unicode"),
                Map.entry("powershell-iex", "download-exec"), Map.entry("eval-atob-js", "encoded-payload"),
                Map.entry("python-exec-b64", "encoded-payload"), Map.entry("hex-payload", "encoded-payload"),
                Map.entry("bundled-elf", "binary-executable"), Map.entry("keychain-dump", "credential-read"),
                Map.entry("mcp-bore-backdoor", "unknown-host"), Map.entry("shell-env-ngrok", "env-dump"));
        for (var e : expected.entrySet()) {
            ScanReport r = scan(corpus.resolve(e.getKey()));
            assertTrue(r.findings().stream().anyMatch(f -> f.rule().equals(e.getValue()) && f.severity().blocks()),
                    e.getKey() + " should have a blocking " + e.getValue() + " finding; got " + r.findings());
        }
    }

    private ScanReport scan(Path skill) {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> all = Files.walk(skill)) {
            for (Path f : all.filter(Files::isRegularFile).toList()) {
                files.put(skill.relativize(f).toString().replace('\\', '/'), Files.readAllBytes(f));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        scannedBytes += files.values().stream().mapToLong(b -> b.length).sum();
        return scanner.scan(files, declaredHosts(files.get("SKILL.md")));
    }

    /** What the skill declares it talks to: its homepage's host and its declared hosts, as the repository passes them. */
    private static Set<String> declaredHosts(byte[] skillMd) {
        try {
            return dev.carapace.skill.repo.DeclaredHosts.of(dev.carapace.skill.SkillDocuments.parse(
                    new String(skillMd, java.nio.charset.StandardCharsets.UTF_8), "SKILL.md"));
        } catch (dev.carapace.skill.SkillFormatException e) {
            return Set.of();   // the parser's own tests cover what it refuses; the scanner still reads the file
        }
    }

    private static List<Path> skills(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).sorted().toList();
        }
    }

}
