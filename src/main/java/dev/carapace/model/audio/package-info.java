/**
 * Audio on both sides of the gateway: OpenAI's {@code /v1/audio/transcriptions} (a file in, a transcript out, metered in
 * seconds of audio) and {@code /v1/audio/speech} (a text in, audio out, metered in characters), as requests validated
 * into records, the bodies sent to an OpenAI-compatible upstream and its answers read back; and {@link
 * dev.carapace.model.audio.Espeak}, the speech made on this machine by espeak-ng when a provider of {@code kind: espeak}
 * serves a speech model. The client's multipart body is parsed by the server (Jetty's parser); what comes here is its
 * fields.
 */
package dev.carapace.model.audio;
