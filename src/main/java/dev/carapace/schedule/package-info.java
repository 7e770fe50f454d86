/**
 * Work that runs when nobody is typing: jobs on a schedule ({@code cron}, {@code at}, {@code every}) that start an
 * agent run or call a webhook, each with an owner who pays, its own limits and budget ({@code job:ID}), a policy for
 * runs missed while no gateway was up, back-off after failures, and a history; and agents' heartbeats, which look
 * for something to do with a cheap probe and call a model only when something changed.
 *
 * <p>Owns the schedules (parsing, next times, time zones and daylight-saving rules), the jobs and their runs, and
 * the heartbeat probes. Which gateway runs a due run is the store's business (a cluster-safe scheduler over the
 * shared database): this package reaches the store only through its own interfaces, like {@code agent}.
 */
package dev.carapace.schedule;
