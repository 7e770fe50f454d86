package dev.carapace.model.audio;

/**
 * Spoken audio, as an upstream or espeak-ng made it.
 *
 * @param mediaType its media type, e.g. {@code audio/mpeg} or {@code audio/wav}
 * @param format    its {@code response_format} name ({@code mp3}, {@code wav}, ...)
 */
public record Speech(byte[] audio, String mediaType, String format) {}
