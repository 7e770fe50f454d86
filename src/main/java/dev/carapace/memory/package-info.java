/**
 * Agents' memory (issue 17): markdown notes an agent writes with {@code memory_write} and finds again with
 * {@code memory_search}, in its own scope and its team's. A note is cut into overlapping chunks along its headings and
 * paragraphs ({@link dev.carapace.memory.Chunker}); each chunk is embedded in-process by a small sentence model
 * ({@link dev.carapace.memory.Embedder}) and indexed for keywords by the store. A search runs both, fuses the two
 * rankings (reciprocal rank), favours recent notes (a half-life) and diverse passages (maximal marginal relevance).
 *
 * <p>What an agent may reach is decided from the run it is in, never from a tool's arguments
 * ({@link dev.carapace.memory.MemoryScopes}); what it writes is screened by the privacy policy first
 * ({@link dev.carapace.memory.WriteScreen}). Like {@code agent} and {@code schedule}, this package reaches the store
 * and the privacy router only through its own interfaces ({@link dev.carapace.memory.NoteStore},
 * {@link dev.carapace.memory.WriteScreen}), which the composition root adapts.
 */
package dev.carapace.memory;
