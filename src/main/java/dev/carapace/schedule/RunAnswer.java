package dev.carapace.schedule;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunStatus;
import dev.carapace.agent.TranscriptEntry;

import java.util.List;

/** What an agent run answered: the last text of the assistant in its session's transcript. */
public final class RunAnswer {

    private RunAnswer() {}

    /** The run's answer; null when it did not complete or said nothing. */
    public static String of(AgentRuntime runtime, RunInfo info) {
        if (info.status() != RunStatus.COMPLETED) return null;
        List<TranscriptEntry> t = runtime.transcript(info.sessionKey());
        for (int i = t.size() - 1; i >= 0; i--) {
            String text = t.get(i).content() == null ? "" : t.get(i).content().path("text").asText("");
            if (t.get(i).role().equals("assistant") && !text.isEmpty()) return text;
        }
        return null;
    }
}
