package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.Usage;

import java.time.Instant;

/**
 * One entry of a session's transcript, as the API shows it.
 *
 * @param role    user, assistant, tool, summary, or memory_flush (the record of a {@link MemoryFlush}, which the model
 *                never sees)
 * @param content the neutral shape: user {@code {text}}; assistant {@code {text, tool_calls:[{id,name,arguments}],
 *                finish, partial?}}; tool {@code {tool_call_id, name, content, error}}; summary {@code {text}}; memory_flush {@code {status, through, overflow, written, reason?,
 *                calls:[{id,name,arguments,ok,result}]}}
 * @param model   the model that answered (assistant entries), else null
 * @param usage   the tokens of the model call that produced it (assistant entries), else null
 */
public record TranscriptEntry(long seq, String runId, String role, JsonNode content, String model, Usage usage,
                              Instant createdAt) {}
