package dev.carapace.privacy;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

class ScannerTest {

    final Scanner scanner = new Scanner(PrivacySpec.DEFAULT);

    private static List<String> found(Scanner s, String text) {
        return s.scan(text).stream().map(f -> f.type() + ":" + text.substring(f.start(), f.end())).toList();
    }

    @Test
    void offsetsAreUtf16CodeUnitsEndExclusive() {
        String text = "🙂 Grüße an jürgen@firma.de 🚀";
        List<Finding> f = scanner.scan(text);
        assertThat(f).hasSize(1);
        assertThat(f.get(0).start()).isEqualTo(text.indexOf("jürgen"));   // the emoji counts as two units
        assertThat(f.get(0).start()).isEqualTo(12);
        assertThat(f.get(0).end()).isEqualTo(f.get(0).start() + "jürgen@firma.de".length());
        assertThat(f.get(0).dataClass()).isEqualTo("pii");
    }

    @Test
    void nearMissesAreNotFound() {
        String text = "uuid 123e4567-e89b-12d3-a456-426614174000, sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b, "
                + "v1.2.3.4, version 10.1.2.3, 999.1.1.1, 4111111111111112, SSN 900-12-3456, sk-learn, AKIA1234, "
                + "-----BEGIN CERTIFICATE-----, max_tokens: 4096, password: ${DB_PASSWORD}, user@host, std::vector, "
                + "Dec::Add, 12:30:45, 2024-01-15, +1 (000) 000-0000";
        assertThat(found(scanner, text)).isEmpty();
    }

    @Test
    void customDictionariesMatchWholeWordsAndRegexesHaveTheirOwnClass() {
        Scanner s = new Scanner(new PrivacySpec(Map.of(), Map.of(), Map.of(), null, List.of("US"),
                List.of(new PrivacySpec.Dictionary("code_name", "confidential", List.of("Bluebird", "Red Kite"), false),
                        new PrivacySpec.Dictionary("customer", "customer", List.of("ACME"), true)),
                List.of(new PrivacySpec.CustomPattern("ticket", "internal", Pattern.compile("TKT-[0-9]{4}")))));
        assertThat(found(s, "bluebird and RED KITE, not Bluebirds; ACME but not Acme; see TKT-0042"))
                .containsExactly("code_name:bluebird", "code_name:RED KITE", "customer:ACME", "ticket:TKT-0042");
        assertThat(s.scan("TKT-0042").get(0).dataClass()).isEqualTo("internal");
    }

    @Test
    void credentialsNeedASecretNameAndAHighEntropyValue() {
        assertThat(found(scanner, "DB_PASSWORD=hX9!qL2#vP7z api_token: \"9d8f7e6a5b4c3d2e\" password=password1 "
                + "client_secret => 'q8W#e5R!t2Y' secret: aaaaaaaaaaaa token = getToken()"))
                .containsExactly("credential:hX9!qL2#vP7z", "credential:9d8f7e6a5b4c3d2e", "credential:q8W#e5R!t2Y");
    }

    @Test
    void aCredentialWithAFormatOfItsOwnIsReportedAsThatFormatAndAsACredential() {
        assertThat(found(scanner, "token=4539578763621486 password: jw.k7@qz-mail.net "
                + "secret: \"GB82WEST12345698765432\""))
                .containsExactly("card:4539578763621486", "credential:4539578763621486",
                        "email:jw.k7@qz-mail.net", "credential:jw.k7@qz-mail.net",
                        "iban:GB82WEST12345698765432", "credential:GB82WEST12345698765432");
    }

    @Test
    void tenMegabytesAndBacktrackingBaitTakeBoundedTime() {
        Scanner withRegex = new Scanner(new PrivacySpec(Map.of(), Map.of(), Map.of(), null, PrivacySpec.DEFAULT_PHONE_REGIONS,
                List.of(), List.of(new PrivacySpec.CustomPattern("evil", "custom", Pattern.compile("(a+)+b")))));
        String mixed = new Corpus(7).mixedText(10 * 1024 * 1024);
        String[] baits = {
                "a".repeat(20_000),                                             // (a+)+b without a b
                "-----BEGIN RSA PRIVATE KEY-----".repeat(50_000),              // BEGIN lines without END
                "a@".repeat(500_000), "1.".repeat(500_000), ":".repeat(1_000_000), "=".repeat(1_000_000),
                "password=".repeat(100_000), "+1 ".repeat(300_000), "DE89 ".repeat(200_000), "eyJ.".repeat(250_000),
                "\uD83D\uDE42".repeat(500_000),
        };
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            assertThat(withRegex.scan(mixed).size()).isGreaterThan(10_000);
            for (String bait : baits) withRegex.scan(bait);
        });
        assertThat(withRegex.scan("aaab")).extracting(Finding::type).containsExactly("evil");
    }

    /** A pattern that recursed too deep on a long text threw StackOverflowError out of the scan: the request failed. */
    @Test
    void aPatternThatRecursedTooDeepFailedTheScan() {
        Scanner withRegex = new Scanner(new PrivacySpec(Map.of(), Map.of(), Map.of(), null, PrivacySpec.DEFAULT_PHONE_REGIONS,
                List.of(), List.of(new PrivacySpec.CustomPattern("deep", "custom", Pattern.compile("(?:a|b)*c")))));
        assertThat(withRegex.scan("ab".repeat(200_000) + " call +1 415 555 0100 "))
                .extracting(Finding::type).doesNotContain("deep").contains("phone");   // the built-in scan still ran
    }
}
