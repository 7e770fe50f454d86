/**
 * The tools Carapace itself gives agents ({@link dev.carapace.agent.tools.BuiltinTools}): file tools confined to the
 * agent's {@link dev.carapace.agent.tools.Workspace}, {@code exec} through a {@link dev.carapace.agent.tools.Sandbox},
 * and {@code web_fetch} through an {@link dev.carapace.agent.tools.Egress}.
 *
 * <p>File tools open, list and create relative to directory descriptors with no symlink following
 * ({@link dev.carapace.agent.tools.DirectoryMaker} for directories), so the object the guard judged is the one
 * touched.
 */
package dev.carapace.agent.tools;
