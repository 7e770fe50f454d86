package dev.carapace.server.adapter;

import dev.carapace.channel.Attachment;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.Voice;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.audio.Speech;

/**
 * Speech for channels through the gateway's audio calls: a voice note transcribed as its sender (their budget, the
 * privacy policy on the transcript), an answer spoken likewise. A refusal becomes a channel error that says why.
 */
public final class ChannelVoice implements Voice {

    private final GatewayVoice voice;

    public ChannelVoice(GatewayVoice voice) { this.voice = voice; }

    @Override
    public String transcribe(Principal caller, Attachment audio) throws ChannelException {
        try {
            return voice.transcribe(caller, audio.name(), audio.mediaType(), audio.data());
        } catch (ApiException e) {
            throw new ChannelException("the voice note could not be transcribed: " + e.getMessage(), e.retryable());
        }
    }

    @Override
    public Attachment speak(Principal caller, String text) throws ChannelException {
        try {
            Speech s = voice.speak(caller, text);
            return new Attachment("answer." + s.format(), s.mediaType(), s.audio());
        } catch (ApiException e) {
            throw new ChannelException("the answer could not be spoken: " + e.getMessage(), e.retryable());
        }
    }
}
