package dev.carapace.guard.egress;

import dev.carapace.guard.egress.CredentialScrubber.Injected;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What the {@link CredentialScrubber} looks for, for one injected credential: the values (the credential, and for
 * a {@code Basic} header its decoded {@code user:password} and password), and their whole-value encodings.
 */
final class CredentialForms {

    private CredentialForms() {}

    /** The values of one credential to look for, each in any per-character spelling. */
    static Set<String> values(Injected i) {
        Set<String> values = new LinkedHashSet<>();
        values.add(i.value());
        if (i.headerValue().regionMatches(true, 0, "Basic ", 0, 6)) {
            String decoded = base64Text(i.value());
            if (decoded != null) {
                values.add(decoded);
                int colon = decoded.indexOf(':');
                if (colon >= 0 && decoded.length() - colon - 1 >= 4) values.add(decoded.substring(colon + 1));
            }
        }
        return values;
    }

    /** The whole-value encodings of one credential to look for, byte for byte. */
    static Set<String> forms(Injected i) {
        Set<String> forms = new LinkedHashSet<>();
        for (String v : values(i)) {
            byte[] utf8 = v.getBytes(StandardCharsets.UTF_8);
            forms.add(Base64.getEncoder().withoutPadding().encodeToString(utf8));
            forms.add(Base64.getUrlEncoder().withoutPadding().encodeToString(utf8));
            forms.add(HexFormat.of().formatHex(utf8));
            forms.add(HexFormat.of().withUpperCase().formatHex(utf8));
            if (utf8.length >= 12) {
                for (int offset = 1; offset <= 2; offset++) {
                    forms.add(embeddedBase64(utf8, offset, Base64.getEncoder()));
                    forms.add(embeddedBase64(utf8, offset, Base64.getUrlEncoder()));
                }
            }
        }
        return forms;
    }

    /**
     * The characters of a Base64 text that depend only on {@code value}, when the value starts {@code offset} bytes
     * (1 or 2) past a 3-byte boundary of a larger encoded text, e.g. a server that Base64-encodes the whole request
     * it echoes. (At offset 0 the plain encoding is a prefix of what appears.) The characters that mix in the bytes
     * before or after are left out.
     */
    private static String embeddedBase64(byte[] value, int offset, Base64.Encoder encoder) {
        byte[] shifted = new byte[offset + value.length];
        System.arraycopy(value, 0, shifted, offset, value.length);
        String encoded = encoder.withoutPadding().encodeToString(shifted);
        int skip = offset == 1 ? 2 : 3;   // characters holding bits of the bytes before the value
        int end = shifted.length % 3 == 0 ? encoded.length() : encoded.length() - 1;   // ... and of the bytes after
        return encoded.substring(skip, end);
    }

    private static String base64Text(String s) {
        try {
            byte[] raw = Base64.getDecoder().decode(s.strip());
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw)).toString();
            return text.length() >= 4 && text.chars().allMatch(c -> c >= 0x20 && c != 0x7f) ? text : null;
        } catch (IllegalArgumentException | CharacterCodingException e) {
            return null;
        }
    }
}
