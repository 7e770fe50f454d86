package dev.carapace.channel;

import java.util.Objects;

/**
 * A file that came with a message, or goes with a reply: a mail attachment, a Slack file, a Telegram photo or voice
 * note. The name is the sender's and hostile; {@link WorkspaceFiles} makes a safe one before anything is written.
 *
 * @param name      the file name as sent (may be empty, may hold path separators or control characters)
 * @param mediaType the declared media type, lower case without parameters ({@code application/octet-stream} when none)
 * @param data      the bytes, at most the channel's {@code max_attachment_bytes}
 */
public record Attachment(String name, String mediaType, byte[] data) {

    public Attachment {
        Objects.requireNonNull(data, "data");
        name = name == null ? "" : Inbound.storable(name);
        mediaType = mediaType == null || mediaType.isBlank() ? "application/octet-stream" : mediaType;
    }

    public boolean isAudio() { return mediaType.startsWith("audio/"); }

    public boolean isImage() { return mediaType.startsWith("image/"); }
}
