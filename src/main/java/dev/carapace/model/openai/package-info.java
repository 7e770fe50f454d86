/**
 * OpenAI Chat Completions and embeddings on both sides: a client's {@code /v1/chat/completions} and
 * {@code /v1/embeddings} parsed and validated into the neutral types, answers and {@code chat.completion.chunk}
 * streams rendered, the body sent to an OpenAI-compatible upstream (OpenAI, vLLM, Ollama, llama.cpp...), its answers
 * and streams read back, and the same-API relay.
 */
package dev.carapace.model.openai;
