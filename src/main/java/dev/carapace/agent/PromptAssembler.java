package dev.carapace.agent;

import dev.carapace.identity.Principal;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.Tool;

import java.util.ArrayList;
import java.util.List;

/**
 * The messages of each model call: the system prompt (the {@link ContextSource}s' texts, built once per run), then
 * the transcript as the model sees it (from the last summary on), compacted by the {@link Summarizer} first when
 * it has grown too big for the model.
 *
 * <p>Kept stable across turns so prompt caches hit: the system prompt never changes within a run, and the last
 * message carries a cache breakpoint, so a provider with explicit caching also caches the conversation so far.
 */
final class PromptAssembler {

    private final List<ContextSource> sources;
    private final SessionStore store;
    private final Summarizer summarizer;

    PromptAssembler(List<ContextSource> sources, SessionStore store, Summarizer summarizer) {
        this.sources = List.copyOf(sources);
        this.store = store;
        this.summarizer = summarizer;
    }

    /** The system message of a run of {@code agent}, marked as a cache breakpoint. */
    Message system(AgentSpec agent) {
        List<String> parts = new ArrayList<>();
        for (ContextSource s : sources) {
            String text = s.text(agent);
            if (text != null) parts.add(text);
        }
        return new Message(Role.SYSTEM, List.of(new Part.Text(String.join("\n\n", parts), true)), List.of(), null, false);
    }

    /**
     * The messages of the run's next model call. When they would fill more of the model's context window than the
     * agent's compaction threshold allows, older turns are summarized first (see {@link Compactor}).
     */
    List<Message> prompt(Execution ex, Principal principal, Message system, List<Tool> schemas) {
        List<SessionStore.Entry> rows = store.entries(ex.sessionKey);
        List<SessionStore.Entry> visible = Compactor.visible(rows);
        List<Message> messages = assemble(system, visible);
        if (!summarizer.summarize(ex, principal, rows, visible, messages, schemas, false)) return messages;
        return assemble(system, Compactor.visible(store.entries(ex.sessionKey)));
    }

    /**
     * The messages of the run's next model call after an upstream refused {@code refused} as too long: compacted
     * whatever the estimate said. Null when nothing could be compacted (the refusal stands).
     */
    List<Message> afterOverflow(Execution ex, Principal principal, Message system, List<Tool> schemas, List<Message> refused) {
        List<SessionStore.Entry> rows = store.entries(ex.sessionKey);
        if (!summarizer.summarize(ex, principal, rows, Compactor.visible(rows), refused, schemas, true)) return null;
        return assemble(system, Compactor.visible(store.entries(ex.sessionKey)));
    }

    /** System prompt, then the conversation, its last message a cache breakpoint. */
    private static List<Message> assemble(Message system, List<SessionStore.Entry> visible) {
        List<Message> messages = new ArrayList<>();
        messages.add(system);
        messages.addAll(Transcript.messages(visible));
        int last = messages.size() - 1;
        Message m = messages.get(last);
        if (last > 0 && (m.role() == Role.USER || m.role() == Role.TOOL) && m.content().size() == 1
                && m.content().get(0) instanceof Part.Text t) {
            messages.set(last, new Message(m.role(), List.of(new Part.Text(t.text(), true)), m.toolCalls(), m.toolCallId(),
                    m.toolError()));
        }
        return messages;
    }
}
