package dev.carapace.privacy;

import com.google.i18n.phonenumbers.PhoneNumberUtil;
import com.google.i18n.phonenumbers.Phonenumber.PhoneNumber;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * A labeled synthetic corpus: realistic lines (mail, chat in several languages, logs, code and config) with values
 * made valid by construction (Luhn, mod-97, SSA ranges, libphonenumber's plans) and near misses that must not be
 * found (invalid checksums, version strings, UUIDs, hashes, placeholders). Each document knows the span and type of
 * every value it holds. Seeded: the same seed gives the same corpus.
 */
public final class Corpus {

    /** A value the corpus put in a document: its type and UTF-16 span. */
    record Label(String type, int start, int end) {}

    record Document(String text, List<Label> labels) {}

    private static final PhoneNumberUtil PHONES = PhoneNumberUtil.getInstance();
    private static final String[] FIRST = {"alice", "bob", "carol", "dmitri", "eva", "françois", "guo", "hana", "ivan", "jürgen", "kemal", "lucía"};
    private static final String[] DOMAINS = {"example.com", "acme.co.uk", "mail.example.org", "firma.de", "société.fr", "corp.example.io"};
    private static final String ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static final String UPPER_NUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    private final Random rnd;

    public Corpus(long seed) { this.rnd = new Random(seed); }

    /** A document assembled from pieces: plain strings, and labeled values. */
    private static final class Builder {
        final StringBuilder text = new StringBuilder();
        final List<Label> labels = new ArrayList<>();

        Builder t(String s) { text.append(s); return this; }

        Builder v(String type, String value) {
            labels.add(new Label(type, text.length(), text.length() + value.length()));
            text.append(value);
            return this;
        }

        Document done() { return new Document(text.toString(), List.copyOf(labels)); }
    }

    List<Document> documents(int n) {
        List<Function<Builder, Builder>> templates = templates();
        List<Document> docs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) docs.add(templates.get(i % templates.size()).apply(new Builder()).done());
        return docs;
    }

    /** About {@code chars} of mixed text (the throughput benchmark's input). */
    public String mixedText(int chars) {
        StringBuilder b = new StringBuilder(chars + 512);
        List<Function<Builder, Builder>> templates = templates();
        int i = 0;
        while (b.length() < chars) {
            b.append(templates.get(i++ % templates.size()).apply(new Builder()).done().text()).append('\n');
            // Most real prompts are mostly prose: pad with sensitive-free text between the dense lines.
            b.append(PROSE[i % PROSE.length]).append('\n');
        }
        return b.toString();
    }

    public static final String[] PROSE = {
            "The quarterly review covers the migration of the billing service to the new cluster, the retirement of "
                    + "the legacy queue, and the plan for the next two sprints. Latency improved by 14% after the cache change.",
            "Die Besprechung wurde auf Donnerstag verschoben, weil das Team noch auf die Ergebnisse der Lasttests wartet. "
                    + "Bitte bereitet eure Fragen vor.",
            "Le déploiement de la version 3.2 est prévu pour la semaine prochaine ; les notes de version seront publiées "
                    + "sur le wiki interne avant vendredi.",
            "El informe incluye 3 gráficos y 12 tablas; la revisión final será el 15 de marzo a las 10:30.",
            "今週のリリースではログの出力形式を変更し、エラー時の再試行回数を 3 回に増やしました。",
            "def retry(fn, attempts=3):\n    for i in range(attempts):\n        try:\n            return fn()\n"
                    + "        except TimeoutError:\n            time.sleep(2 ** i)\n",
    };

    private List<Function<Builder, Builder>> templates() {
        return List.of(
                b -> b.t("Hi team, please reach me at ").v("email", email()).t(" or on ").v("phone", phoneIntl())
                        .t(" if the deploy fails again. Build 4.12.0 is tagged."),
                b -> b.t("Bitte überweisen Sie den Betrag auf ").v("iban", iban("DE", 18, true)).t(". Rückfragen gerne unter ")
                        .v("phone", phoneNational("DE")).t(" (Frau ").t(FIRST[rnd.nextInt(FIRST.length)]).t(")."),
                b -> b.t("Mon numéro est le ").v("phone", phoneNational("FR")).t(", écrivez-moi à ").v("email", email())
                        .t(" avant le 12/03/2025."),
                b -> b.t("Mi tarjeta es ").v("card", card(true)).t(" y caduca el 12/27; el pedido 20240315 ya salió."),
                b -> b.t("Customer called from ").v("phone", phoneNational("US")).t(" about card ending 4242; SSN on file ")
                        .v("ssn", ssn()).t(", ticket #558213."),
                b -> b.t("2024-11-23T10:15:02.114Z INFO conn accepted from ").v("ipv4", ipv4()).t(":").t(String.valueOf(1024 + rnd.nextInt(60000)))
                        .t(" user=").v("email", email()).t(" latency_ms=").t(String.valueOf(rnd.nextInt(900))),
                b -> b.t("2024-11-23T10:15:03Z WARN upstream ").v("ipv6", ipv6()).t(" reset; retry 2/5 trace_id=")
                        .t(uuid()).t(" version 2.14.3.1"),
                b -> b.t("const client = new OpenAI({ apiKey: \"").v("openai_key", openAiKey()).t("\" });\n// model gpt-4.1, temperature 0.2\n"),
                b -> b.t("ANTHROPIC_API_KEY=").v("anthropic_key", "sk-ant-api03-" + random(ALNUM + "-_", 93) + "AA")
                        .t("\nexport AWS_ACCESS_KEY_ID=").v("aws_access_key", "AKIA" + random(UPPER_NUM, 16))
                        .t("\nexport AWS_REGION=eu-west-1\n"),
                b -> b.t("github:\n  token: ").v("github_token", "ghp_" + random(ALNUM, 36)).t("\ngitlab:\n  token: ")
                        .v("gitlab_token", "glpat-" + random(ALNUM + "_-", 20)).t("\nslack_bot: ")
                        .v("slack_token", "xoxb-" + digits(12) + "-" + digits(13) + "-" + random(ALNUM, 24)).t("\n"),
                b -> b.t("curl -H 'Authorization: Bearer ").v("jwt", jwt()).t("' https://api.internal.example/v2/orders?limit=50"),
                b -> b.t("Here is the deploy key, keep it safe:\n").v("private_key", pem()).t("\nThanks!"),
                b -> b.t("db:\n  host: db.internal\n  port: 5432\n  password: \"").v("credential", random(ALNUM + "!#%&*", 18))
                        .t("\"\n  pool_size: 20\n  max_tokens: 4096\n"),
                b -> b.t("{\"user\": \"").v("email", email()).t("\", \"card\": \"").v("card", card(false))
                        .t("\", \"iban\": \"").v("iban", iban("GB", 18, false)).t("\", \"request_id\": \"").t(uuid()).t("\"}"),
                b -> b.t("連絡先: ").v("email", email()).t(" 電話 ").v("phone", phoneIntl()).t(" までお願いします。"),
                b -> b.t("请把报告发送到 ").v("email", email()).t("，或拨打 ").v("phone", phoneIntl()).t("。"),
                // Near misses only: nothing here may be found.
                b -> b.t("Invalid card 4111 1111 1111 1112 and ").t(badCard()).t(", IBAN DE89 3704 0044 0532 0130 01, SSN 666-")
                        .t(digits(2)).t("-").t(digits(4)).t(" and 000-12-3456, version 1.2.3.4, v10.0.0.1, 1.2.3.4.5, "
                        + "chrome/120.0.6099.109, 10.0.0.256."),
                b -> b.t("request ").t(uuid()).t(" sha ").t(hex(40)).t(" md5 ").t(hex(32)).t(" at 2024-06-01 12:30:45, "
                        + "user@localhost, icon@2x.png, lodash@4.17.21, @mention, mac 00:1a:2b:3c:4d:5e"),
                b -> b.t("pip install scikit-learn  # sk-learn\nAKIA123 is too short; ghp_short; "
                        + "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n-----END PUBLIC KEY-----\n"
                        + "password = os.environ[\"DB_PASSWORD\"]\ntoken_count: 12345678\nsecret = changeme\nmax_tokens=4096\n"
                        + "api_key = settings.OPENAI_API_KEY\norder 4471-2231, invoice 2024/0042, total 1,234,567.89 EUR"),
                b -> b.t("Die Version 3.2.1.4 läuft; Sendungsnummer 00340434161094042557; Preis 1.299,00 €; Zimmer 12-34."),
                b -> b.t("call me maybe at ").v("phone", phoneNational("GB")).t(" or +").t(digits(3)).t(" 12; room 415, floor 5.")
        );
    }

    // ---- values ----

    String email() {
        String local = FIRST[rnd.nextInt(FIRST.length)] + (rnd.nextBoolean() ? "." + FIRST[rnd.nextInt(FIRST.length)] : "")
                + (rnd.nextInt(3) == 0 ? String.valueOf(rnd.nextInt(100)) : "");
        return local + "@" + DOMAINS[rnd.nextInt(DOMAINS.length)];
    }

    String phoneIntl() {
        String[] regions = {"US", "GB", "DE", "FR", "JP", "IN", "BR", "ES", "IT", "NL", "CN", "AU"};
        return PHONES.format(validNumber(regions[rnd.nextInt(regions.length)]), PhoneNumberUtil.PhoneNumberFormat.INTERNATIONAL);
    }

    String phoneNational(String region) {
        return PHONES.format(validNumber(region), PhoneNumberUtil.PhoneNumberFormat.NATIONAL);
    }

    private PhoneNumber validNumber(String region) {
        PhoneNumber example = PHONES.getExampleNumberForType(region,
                rnd.nextBoolean() ? PhoneNumberUtil.PhoneNumberType.MOBILE : PhoneNumberUtil.PhoneNumberType.FIXED_LINE);
        String nsn = PHONES.getNationalSignificantNumber(example);
        for (int attempt = 0; attempt < 200; attempt++) {
            // Keep the leading digits (area or mobile prefix), vary the rest.
            int keep = Math.min(4, nsn.length() - 3);
            String candidate = nsn.substring(0, keep) + digits(nsn.length() - keep);
            PhoneNumber p = new PhoneNumber().setCountryCode(example.getCountryCode()).setNationalNumber(Long.parseLong(candidate));
            if (PHONES.isValidNumber(p)) return p;
        }
        return example;
    }

    String card(boolean grouped) {
        String[] prefixes = {"4", "51", "55", "2221", "34", "37", "6011", "3530"};
        String prefix = prefixes[rnd.nextInt(prefixes.length)];
        int len = prefix.startsWith("3") && !prefix.equals("3530") ? 15 : 16;
        String body = prefix + digits(len - prefix.length() - 1);
        String number = body + luhnDigit(body);
        if (!grouped) return number;
        if (len == 15) return number.substring(0, 4) + " " + number.substring(4, 10) + " " + number.substring(10);
        return number.replaceAll("(\\d{4})(?=\\d)", "$1 ");
    }

    String badCard() {
        String body = "4" + digits(14);
        int d = (luhnDigit(body) + 1 + rnd.nextInt(8)) % 10;
        return body + d;
    }

    private static int luhnDigit(String body) {
        int sum = 0;
        for (int i = 0; i < body.length(); i++) {
            int d = body.charAt(body.length() - 1 - i) - '0';
            if (i % 2 == 0) {
                d *= 2;
                if (d > 9) d -= 9;
            }
            sum += d;
        }
        return (10 - sum % 10) % 10;
    }

    String iban(String country, int bbanLength, boolean grouped) {
        String bban = country.equals("GB") ? random("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4) + digits(14) : digits(bbanLength);
        String rearranged = bban + country + "00";
        StringBuilder numeric = new StringBuilder();
        for (char c : rearranged.toCharArray()) numeric.append(Character.isDigit(c) ? String.valueOf(c) : String.valueOf(c - 'A' + 10));
        int check = 98 - new BigInteger(numeric.toString()).mod(BigInteger.valueOf(97)).intValue();
        String iban = country + (check < 10 ? "0" : "") + check + bban;
        return grouped ? iban.replaceAll("(.{4})(?=.)", "$1 ") : iban;
    }

    String ssn() {
        int area;
        do area = 1 + rnd.nextInt(899); while (area == 666);
        return String.format("%03d-%02d-%04d", area, 1 + rnd.nextInt(99), 1 + rnd.nextInt(9999));
    }

    String ipv4() {
        return (11 + rnd.nextInt(200)) + "." + rnd.nextInt(256) + "." + rnd.nextInt(256) + "." + (1 + rnd.nextInt(254));
    }

    String ipv6() {
        return "2001:db8:" + Integer.toHexString(rnd.nextInt(0xffff)) + "::" + Integer.toHexString(1 + rnd.nextInt(0xfff)) + ":"
                + rnd.nextInt(10) + Integer.toHexString(rnd.nextInt(0xff));
    }

    String openAiKey() {
        return (rnd.nextBoolean() ? "sk-proj-" : "sk-") + random(ALNUM, 20) + "T3BlbkFJ" + random(ALNUM, 20);
    }

    String jwt() {
        Base64.Encoder e = Base64.getUrlEncoder().withoutPadding();
        String header = e.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes());
        String payload = e.encodeToString(("{\"sub\":\"" + rnd.nextInt(1_000_000) + "\",\"exp\":1735689600}").getBytes());
        byte[] sig = new byte[32];
        rnd.nextBytes(sig);
        return header + "." + payload + "." + e.encodeToString(sig);
    }

    String pem() {
        StringBuilder b = new StringBuilder("-----BEGIN " + (rnd.nextBoolean() ? "RSA " : "OPENSSH ") + "PRIVATE KEY-----\n");
        String label = b.substring(11, b.length() - 6);
        for (int i = 0; i < 6; i++) b.append(random(ALNUM + "+/", 64)).append('\n');
        return b.append("-----END ").append(label).append("-----").toString();
    }

    String uuid() { return new java.util.UUID(rnd.nextLong(), rnd.nextLong()).toString(); }

    String hex(int n) { return random("0123456789abcdef", n); }

    String digits(int n) { return random("0123456789", n); }

    String random(String alphabet, int n) {
        char[] c = new char[n];
        for (int i = 0; i < n; i++) c[i] = alphabet.charAt(rnd.nextInt(alphabet.length()));
        return new String(c);
    }
}
