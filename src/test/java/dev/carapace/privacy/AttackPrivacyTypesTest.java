package dev.carapace.privacy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * From the attack on issue 12: a card, IBAN, e-mail, SSN, phone or key written after a secret-like name, in the
 * spellings configs and logs use, is reported as its specific type (a policy that blocks cards must see a card).
 */
class AttackPrivacyTypesTest {

    final Scanner scanner = new Scanner(PrivacySpec.DEFAULT);

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "password: 4539 5787 6362 1486|card",
            "password: 4539-5787-6362-1486|card",
            "{\"password\": \"4539578763621486\"}|card",
            "PASSWORD=\"4539578763621486\"|card",
            "api_key: '4539578763621486'|card",
            "https://x.example/cb?token=4539578763621486&a=1|card",
            "Authorization: Bearer 4539578763621486|card",
            "secret: GB82 WEST 1234 5698 7654 32|iban",
            "token: \"GB82WEST12345698765432\",|iban",
            "password=JW.K7@QZ-MAIL.NET|email",
            "password: <jw.k7@qz-mail.net>|email",
            "secret: 536-22-8741|ssn",
            "token: +1 415 555 2671|phone",
            "password: sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789|anthropic_key",
            "client_secret: AKIAIOSFODNN7EXAMPLE|aws_access_key",
            "db_password = '4539578763621486' # prod|card"})
    void theSpecificTypeIsReported(String text, String type) {
        List<String> types = scanner.scan(text).stream().map(f -> f.type() + ":" + text.substring(f.start(), f.end())).toList();
        assertThat(types).as(text).anySatisfy(t -> assertThat(t).startsWith(type + ":"));
    }

    /**
     * Not seen as their type today, only as a credential: an IBAN in lower case (IBANs are written in capitals; the
     * detector keys on them) and an e-mail address with its @ percent-encoded. Pinned so that a change is noticed.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"secret=gb82west12345698765432", "password=jw.k7%40qz-mail.net"})
    void knownGapsAreStillACredential(String text) {
        assertThat(scanner.scan(text)).extracting(Finding::type).containsExactly("credential");
    }
}
