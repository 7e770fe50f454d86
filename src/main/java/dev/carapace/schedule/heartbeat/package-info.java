/**
 * Heartbeats that cost nothing when nothing changed (issue 16). At each tick, {@link
 * dev.carapace.schedule.heartbeat.Heartbeat} runs a {@link dev.carapace.schedule.heartbeat.Probe} with no model call:
 * new inbound messages ({@link dev.carapace.schedule.heartbeat.Inbox}), failed or missed job runs ({@link
 * dev.carapace.schedule.heartbeat.JobActivity}), watched files ({@link dev.carapace.schedule.heartbeat.WorkspaceFiles},
 * by hash) and URLs ({@link dev.carapace.schedule.heartbeat.UrlCheck}, by ETag, Last-Modified and hash), and the due
 * items of the agent's {@link dev.carapace.schedule.heartbeat.Checklist}. Only when something changed does it ask for
 * a model turn, whose message ({@link dev.carapace.schedule.heartbeat.HeartbeatPrompt}) lists only the changes.
 *
 * <p>Pure decisions over small seams: the sources, and where the {@link dev.carapace.schedule.heartbeat.ProbeState}
 * is kept ({@link dev.carapace.schedule.heartbeat.HeartbeatStateStore}), are interfaces the composition root
 * implements over the store, the egress proxy and the job history. {@link
 * dev.carapace.schedule.heartbeat.ConfinedWorkspaceFiles} is the file seam over the guard's real-path resolver.
 * {@link dev.carapace.schedule.heartbeat.HeartbeatRunner} beats each agent's heartbeat when the jobs' shared
 * scheduler hands it over (once across gateways) and starts the turns a beat asks for.
 */
package dev.carapace.schedule.heartbeat;
