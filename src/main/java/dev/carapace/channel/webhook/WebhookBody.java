package dev.carapace.channel.webhook;

import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.carapace.channel.Attachment;
import dev.carapace.text.Utf8;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What a caller POSTs to a webhook channel, read strictly:
 *
 * <pre>
 * {"text": "...",                       required unless there are attachments; at most 200,000 characters
 *  "sender": "crm-user-42",             optional: the caller's own user; 1-128 of A-Z a-z 0-9 . _ @ + = : -
 *  "conversation": "ticket-981",        optional: the thread (one agent session per sender and conversation);
 *                                       absent: the message is a conversation of its own; same characters, 1-128
 *  "attachments": [{"name": "a.pdf", "media_type": "application/pdf", "data_base64": "..."}],   at most 20
 *  "reply_to": "https://..."}           optional: where the answer goes, only under the channel's reply_to_prefixes
 * </pre>
 *
 * A field not listed is refused, not ignored: a misspelt {@code "txt"} must not become an empty message, and a field
 * a later version adds must not be silently dropped by this one. Duplicate keys are refused too (two readers could
 * otherwise see two different messages).
 *
 * @param text         the message
 * @param sender       the caller's user, or null
 * @param conversation the caller's thread key, or null
 * @param attachments  the files (names as sent: hostile, made safe where they are written)
 * @param replyTo      where the answer goes, or null
 */
record WebhookBody(String text, String sender, String conversation, List<Attachment> attachments, URI replyTo) {

    static final int MAX_TEXT_CHARS = 200_000;
    static final int MAX_ATTACHMENTS = 20;
    static final int MAX_NAME_CHARS = 255;
    private static final Set<String> FIELDS = Set.of("text", "sender", "conversation", "attachments", "reply_to");
    private static final Set<String> FILE_FIELDS = Set.of("name", "media_type", "data_base64");
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9._@+=:-]{1,128}");
    private static final Pattern MEDIA_TYPE = Pattern.compile("[a-z0-9][a-z0-9.+-]{0,63}/[a-z0-9][a-z0-9.+-]{0,126}");
    private static final ObjectMapper JSON = JsonMapper.builder(new JsonFactoryBuilder()
                    .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(20).build()).build())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** A body that is not one: what is wrong, where, and what is expected. */
    static final class Invalid extends Exception {
        Invalid(String message) { super(message); }
    }

    static WebhookBody parse(byte[] body) throws Invalid {
        int bad = Utf8.firstInvalidOrZero(body);   // Jackson would read UTF-16 by its zero bytes, or decode overlong forms
        if (bad >= 0) {
            throw new Invalid("the body is not UTF-8: byte " + bad + " (0x" + String.format("%02x", body[bad] & 0xff)
                    + ") " + (body[bad] == 0 ? "is zero" : "does not begin a valid UTF-8 character")
                    + " (expected a JSON object in UTF-8, RFC 8259 8.1)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new Invalid("the body is not JSON: " + e.getOriginalMessage() + " (expected a JSON object such as "
                    + "{\"text\": \"...\"})");
        } catch (IOException e) {
            throw new Invalid("the body could not be read as JSON");
        }
        if (root == null || !root.isObject()) throw new Invalid("the body must be a JSON object such as {\"text\": \"...\"}");
        unknownFields(root, FIELDS, "");
        String text = string(root, "text", MAX_TEXT_CHARS);
        String sender = key(root, "sender");
        String conversation = key(root, "conversation");
        List<Attachment> files = attachments(root.get("attachments"));
        URI replyTo = replyTo(root);
        if ((text == null || text.isBlank()) && files.isEmpty()) {
            throw new Invalid("field 'text' is required (a non-empty string) unless the message has attachments");
        }
        return new WebhookBody(text, sender, conversation, files, replyTo);
    }

    private static void unknownFields(JsonNode object, Set<String> known, String where) throws Invalid {
        for (Iterator<String> it = object.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f)) {
                throw new Invalid("unknown field '" + printable(f) + "'" + where + " (expected: "
                        + String.join(", ", known.stream().sorted().toList()) + ")");
            }
        }
    }

    private static String string(JsonNode o, String field, int max) throws Invalid {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw new Invalid("field '" + field + "' must be a string");
        if (v.textValue().length() > max) {
            throw new Invalid("field '" + field + "' is " + v.textValue().length() + " characters; at most " + max);
        }
        return v.textValue();
    }

    private static String key(JsonNode o, String field) throws Invalid {
        String s = string(o, field, 1000);
        if (s != null && !KEY.matcher(s).matches()) {
            throw new Invalid("field '" + field + "' must be 1-128 of the characters A-Z a-z 0-9 . _ @ + = : -");
        }
        return s;
    }

    private static List<Attachment> attachments(JsonNode v) throws Invalid {
        if (v == null || v.isNull()) return List.of();
        if (!v.isArray()) throw new Invalid("field 'attachments' must be a list of {name, media_type, data_base64}");
        if (v.size() > MAX_ATTACHMENTS) {
            throw new Invalid("field 'attachments' has " + v.size() + " files; at most " + MAX_ATTACHMENTS);
        }
        List<Attachment> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode f = v.get(i);
            String where = " in attachments[" + i + "]";
            if (!f.isObject()) throw new Invalid("attachments[" + i + "] must be an object {name, media_type, data_base64}");
            unknownFields(f, FILE_FIELDS, where);
            String name = string(f, "name", MAX_NAME_CHARS);
            String type = string(f, "media_type", 200);
            if (type != null) {
                type = type.toLowerCase(java.util.Locale.ROOT);
                int semi = type.indexOf(';');
                if (semi >= 0) type = type.substring(0, semi).trim();
                if (!MEDIA_TYPE.matcher(type).matches()) {
                    throw new Invalid("'media_type'" + where + " must be a media type such as application/pdf");
                }
            }
            String data = string(f, "data_base64", Integer.MAX_VALUE);
            if (data == null) throw new Invalid("'data_base64'" + where + " is required: the file's bytes in base64");
            byte[] bytes;
            try {
                bytes = Base64.getDecoder().decode(data);
            } catch (IllegalArgumentException e) {
                throw new Invalid("'data_base64'" + where + " is not base64 (RFC 4648, with padding, no line breaks)");
            }
            out.add(new Attachment(name, type, bytes));
        }
        return out;
    }

    private static URI replyTo(JsonNode o) throws Invalid {
        String s = string(o, "reply_to", 2048);
        if (s == null) return null;
        try {
            URI u = new URI(s);
            if (!u.isAbsolute() || !("https".equals(u.getScheme()) || "http".equals(u.getScheme())) || u.getHost() == null
                    || u.getRawUserInfo() != null || u.getRawFragment() != null) {
                throw new Invalid("field 'reply_to' must be an absolute http(s) URL without a user or fragment");
            }
            return u;
        } catch (URISyntaxException e) {
            throw new Invalid("field 'reply_to' is not a URL");
        }
    }

    /** At most 60 characters, control characters shown as '?', for quoting the caller's text in an error. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 60; i++) {
            char c = s.charAt(i);
            b.append(Character.isISOControl(c) || dev.carapace.text.Invisible.is(c) ? '?' : c);
        }
        return b.toString();
    }
}
