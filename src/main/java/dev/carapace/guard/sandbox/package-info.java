/**
 * The exec sandbox: {@link dev.carapace.guard.sandbox.Bubblewrap} runs each command in bubblewrap with the system
 * read-only, its agent's workspace and a private /tmp, no network but the egress proxy's socket, kernel limits
 * ({@link dev.carapace.guard.sandbox.SandboxLimits}, cgroups where the gateway may make them) and a policy's
 * file-system layer as mounts ({@link dev.carapace.guard.sandbox.Mount}).
 *
 * <p>Commands are never the host's root: a root gateway runs them as the
 * {@link dev.carapace.guard.sandbox.SandboxUser} and hands each workspace to that user at start-up; the start-up
 * probe refuses a sandbox whose commands could own files as uid 0, write /proc/sys, or read a root-only file.
 * Which agent a command runs as is the caller's business (the server's exec adapter); nothing here guesses it from
 * a path.
 */
package dev.carapace.guard.sandbox;
