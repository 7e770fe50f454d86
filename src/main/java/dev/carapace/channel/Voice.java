package dev.carapace.channel;

import dev.carapace.identity.Principal;

/**
 * Speech for channels, through the gateway (so routing, budgets, metering and the privacy router apply as to any
 * {@code /v1/audio} call): a voice note becomes text before its agent sees it, and an answer can go back as audio
 * where the channel suits it.
 */
public interface Voice {

    /**
     * The words of {@code audio}, charged to {@code caller}.
     *
     * @throws ChannelException it could not be transcribed (no model, refused, upstream down); the message says why
     */
    String transcribe(Principal caller, Attachment audio) throws ChannelException;

    /** {@code text} spoken, charged to {@code caller}. */
    Attachment speak(Principal caller, String text) throws ChannelException;
}
