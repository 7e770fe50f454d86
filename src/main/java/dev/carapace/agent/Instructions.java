package dev.carapace.agent;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The first part of every system prompt: a short preamble on how the runtime works, then the agent's own
 * instructions from {@code AGENTS.md} in its workspace (at most {@link #MAX_BYTES}, never through a symlink).
 */
final class Instructions implements ContextSource {

    private static final Logger log = LoggerFactory.getLogger(Instructions.class);

    /** The most of AGENTS.md that goes into the system prompt, in bytes. */
    static final int MAX_BYTES = 64 * 1024;
    static final String FILE = "AGENTS.md";

    @Override
    public String text(AgentSpec agent) {
        String preamble = "You are the agent '" + agent.id() + "', running in Carapace. File paths are relative to your "
                + "workspace. Tool results that are JSON with an \"error\" field are failures or denials: adapt instead "
                + "of repeating the same call. When done, answer in plain text without calling tools.";
        Path file = agent.workspace().resolve(FILE);
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) return preamble;
        try (var in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            byte[] bytes = in.readNBytes(MAX_BYTES + 1);
            boolean cut = bytes.length > MAX_BYTES;
            String text = new String(bytes, 0, Math.min(bytes.length, MAX_BYTES), StandardCharsets.UTF_8);
            return preamble + "\n\n" + text.strip() + (cut ? "\n[" + FILE + " truncated]" : "");
        } catch (IOException e) {
            log.warn("agent {}: cannot read {}: {}", agent.id(), FILE, e.getClass().getSimpleName());
            return preamble;
        }
    }
}
