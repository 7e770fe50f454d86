package dev.carapace.model.audio;

import dev.carapace.model.ApiException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Speech made on this machine by espeak-ng (Debian's {@code espeak-ng}), for a provider of {@code kind: espeak}: no
 * upstream, no key, WAV out. The text goes to the process on its standard input ({@code --stdin}), never as an
 * argument, so no text can become an option; the process is run without a shell, its voice is one espeak-ng lists
 * (checked against a pattern first, so no argument but those written here reaches it), and it is given a bounded time
 * and a bounded output, past which it is killed.
 */
public final class Espeak {

    /** A voice name as espeak-ng spells them: a language ({@code en}, {@code en-us}, {@code en-gb-x-rp}), and a variant. */
    static final Pattern VOICE = Pattern.compile("[a-z]{2,3}(-[a-z0-9]{1,8}){0,4}(\\+[a-z0-9]{1,16})?");
    /** OpenAI's voices: a client of the speech API names one of these, which a local deployment speaks in its own voice. */
    static final Set<String> OPENAI_VOICES = Set.of("alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx",
            "sage", "shimmer", "verse", "marin", "cedar");
    /** espeak-ng's own rate: words per minute at speed 1. */
    private static final int WORDS_PER_MINUTE = 175;

    private final String command;
    private final Duration timeout;
    private final long maxBytes;
    private volatile Set<String> voices;

    /**
     * @param command  the executable ({@code espeak-ng}, found on the PATH, or an absolute path)
     * @param timeout  how long one text may take to speak before the process is killed
     * @param maxBytes the most WAV bytes one text may make
     */
    public Espeak(String command, Duration timeout, long maxBytes) {
        this.command = command;
        this.timeout = timeout;
        this.maxBytes = maxBytes;
    }

    /**
     * Speaks {@code text} in {@code voice} when it is an espeak-ng voice, else in {@code defaultVoice} (a client asking
     * for OpenAI's {@code alloy} of a deployment that falls back here), at {@code speed} (null for 1).
     *
     * @return a WAV file (or its samples alone, for {@code pcm}), 16-bit mono at 22,050 Hz
     */
    public Speech speak(String text, String voice, String defaultVoice, Double speed, String format) {
        String chosen = voice(voice, defaultVoice);
        int rate = (int) Math.round(WORDS_PER_MINUTE * (speed == null ? 1 : Math.max(0.5, Math.min(speed, 2.5))));
        byte[] wav = run(List.of(command, "--stdin", "--stdout", "-v", chosen, "-s", Integer.toString(rate)),
                text.getBytes(StandardCharsets.UTF_8));
        byte[] sized = Wav.sized(wav);
        if (sized == null || Wav.seconds(sized) <= 0) {
            throw ApiException.of(ApiException.Kind.UPSTREAM, "speech_failed", "espeak-ng made no audio of this text in voice '" + chosen + "'");
        }
        if (format.equals("pcm")) return new Speech(Wav.samples(sized), OpenAiAudio.SPEECH_FORMATS.get("pcm"), "pcm");
        return new Speech(sized, OpenAiAudio.SPEECH_FORMATS.get("wav"), "wav");
    }

    /** The voice to use: the client's, if espeak-ng has it; the deployment's for one of OpenAI's; refused otherwise. */
    String voice(String asked, String defaultVoice) {
        if (OPENAI_VOICES.contains(asked)) asked = defaultVoice;
        if (asked == null || !VOICE.matcher(asked).matches() || !voices().contains(asked)) {
            throw ApiException.invalid("voice", "voice: this model speaks with espeak-ng, which has no voice '"
                    + dev.carapace.text.Excerpt.clip(asked == null ? "" : asked, 40) + "'; name an espeak-ng voice such as"
                    + " 'en-us' (espeak-ng --voices lists them) or one of OpenAI's (" + String.join(", ", new java.util.TreeSet<>(OPENAI_VOICES))
                    + "), which is spoken in '" + defaultVoice + "'");
        }
        return asked;
    }

    /** The voices espeak-ng lists (their language names, such as {@code en-us}), read once. */
    Set<String> voices() {
        Set<String> v = voices;
        if (v != null) return v;
        String listing = new String(run(List.of(command, "--voices"), new byte[0]), StandardCharsets.UTF_8);
        Set<String> found = new LinkedHashSet<>();
        for (String line : listing.split("\n")) {
            String[] cols = line.strip().split("\\s+");
            if (cols.length >= 2 && VOICE.matcher(cols[1]).matches()) found.add(cols[1]);
        }
        if (found.isEmpty()) {
            throw ApiException.of(ApiException.Kind.UNAVAILABLE, "speech_unavailable", "espeak-ng lists no voices on this machine");
        }
        return voices = Set.copyOf(found);
    }

    /** Runs the command with {@code input} on its standard input; its standard output, bounded in time and size. */
    private byte[] run(List<String> argv, byte[] input) {
        Process p;
        try {
            ProcessBuilder pb = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD);
            // The gateway's environment holds its upstreams' keys: none of it is espeak-ng's business.
            String path = System.getenv("PATH");
            pb.environment().clear();
            pb.environment().put("PATH", path == null ? "/usr/local/bin:/usr/bin:/bin" : path);
            p = pb.start();
        } catch (IOException e) {
            throw ApiException.of(ApiException.Kind.UNAVAILABLE, "speech_unavailable", "espeak-ng could not be started ("
                    + e.getClass().getSimpleName() + "); install it (apt-get install espeak-ng) or remove the espeak provider");
        }
        try {
            Thread writer = Thread.ofVirtual().start(() -> {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(input);
                } catch (IOException ignored) {
                    // the process ended before reading it all: its exit and output say what happened
                }
            });
            ByteArrayOutputStream out = new ByteArrayOutputStream(64 * 1024);
            java.util.concurrent.atomic.AtomicBoolean overflow = new java.util.concurrent.atomic.AtomicBoolean();
            long deadline = System.nanoTime() + timeout.toNanos();
            Thread reader = Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[16 * 1024];
                try (InputStream o = p.getInputStream()) {
                    for (int n; (n = o.read(buf)) != -1; ) {
                        synchronized (out) {
                            if (out.size() + n > maxBytes) {
                                overflow.set(true);
                                p.destroyForcibly();
                                return;
                            }
                            out.write(buf, 0, n);
                        }
                    }
                } catch (IOException ignored) {
                    // killed: said below
                }
            });
            if (!p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                p.destroyForcibly();
                throw ApiException.of(ApiException.Kind.TIMEOUT, "speech_timeout", "espeak-ng took longer than "
                        + timeout.toMillis() + " ms to speak this text");
            }
            reader.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000 + 1000));
            writer.join(1000);
            synchronized (out) {
                if (overflow.get()) {
                    throw ApiException.of(ApiException.Kind.UPSTREAM, "speech_too_large", "espeak-ng made more than "
                            + maxBytes + " bytes of audio for this text");
                }
                return out.toByteArray();
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw ApiException.of(ApiException.Kind.UNAVAILABLE, dev.carapace.model.Router.INTERRUPTED, "the speech was interrupted");
        }
    }
}
