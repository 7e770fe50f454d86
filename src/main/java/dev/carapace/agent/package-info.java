/**
 * The agent runtime: agents as configured ({@link dev.carapace.agent.AgentSpec}), their runs and transcripts, and the
 * loop that calls a model through the gateway and then the tools it asked for. {@link dev.carapace.agent.AgentRuntime}
 * is its public face and puts the rooms together; each room has one reason to change:
 *
 * <ul>
 *   <li><b>Run lifecycle</b> — {@link dev.carapace.agent.RunLifecycle}: accept a message, queue it in its session's
 *       lane (one run per session at a time), cancel, resume an interrupted session, end each run exactly once, own
 *       the runs this gateway executes (heart-beats, orphans). The state of one run is an
 *       {@link dev.carapace.agent.Execution}. A scheduler starts runs here, as a message does.</li>
 *   <li><b>The turn loop</b> — {@link dev.carapace.agent.TurnLoop}: prompt, model call
 *       ({@link dev.carapace.agent.ModelCalls}, streamed with fallbacks), tools, again, until an answer or a limit.</li>
 *   <li><b>Prompt assembly</b> — {@link dev.carapace.agent.PromptAssembler}: the system prompt from the
 *       {@link dev.carapace.agent.ContextSource}s ({@link dev.carapace.agent.Instructions}: the preamble and
 *       {@code AGENTS.md}; skills and memory add their own sources here), then the transcript as the model sees it
 *       ({@link dev.carapace.agent.Transcript}), compacted when too big ({@link dev.carapace.agent.Summarizer} asks
 *       for the summary, {@link dev.carapace.agent.Compactor} decides what it replaces; before every compaction, at
 *       the threshold or after an upstream refused a prompt as too long ({@link dev.carapace.agent.ContextOverflow}),
 *       the {@link dev.carapace.agent.MemoryFlush} gives the agent one turn to save notes with {@code memory_write}).</li>
 *   <li><b>Tool execution</b> — {@link dev.carapace.agent.ToolAdmission} asks the guard (and an operator, for an
 *       {@code ask}) whether each call may run; {@link dev.carapace.agent.ToolRunner} runs the admitted calls in
 *       parallel with timeouts and output caps and records each result. Which tools exist is the
 *       {@link dev.carapace.agent.Toolbox}'s; the tool SPI is {@link dev.carapace.agent.AgentTool}, the built-in tools
 *       are in {@code dev.carapace.agent.tools}, sub-agents ({@link dev.carapace.agent.SubAgents},
 *       {@link dev.carapace.agent.SpawnRule}) are the runtime's own tools.</li>
 *   <li><b>Persistence</b> — {@link dev.carapace.agent.SessionStore} keeps sessions, runs and transcripts in the
 *       runtime's own records; {@link dev.carapace.agent.RunJournal} writes a run's transcript entries.</li>
 * </ul>
 *
 * <p>It decides nothing about security itself and knows neither the guard, the ledger, the privacy router nor the
 * store: every tool call passes a {@link dev.carapace.agent.Guard} first, file tools ask a
 * {@link dev.carapace.agent.FileGate} again at each file they touch (and a {@link dev.carapace.agent.UrlGate} at
 * each redirect), {@code ask} decisions wait in {@link dev.carapace.agent.Approvals}, spawn decisions go to a
 * {@link dev.carapace.agent.SpawnAudit}, and model calls go through the gateway, where budgets and privacy apply. The
 * server's composition root fills each of these interfaces with an adapter; an ArchUnit rule keeps it so.
 */
package dev.carapace.agent;
