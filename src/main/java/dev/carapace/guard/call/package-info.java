/**
 * The guard's decision on each tool call an agent makes: the gate order (the agent's own tool list, the policy's
 * tool layer, then the layer the target lives in), the canonical target each layer judges (a real path by
 * {@link dev.carapace.fs.RealPaths}, a URL path by {@link dev.carapace.guard.url.CanonicalPath}, a command
 * parsed into its argv), which tools read or write ({@link dev.carapace.guard.call.FileTarget}), and the file rules
 * again at every file a tool touches ({@link dev.carapace.guard.call.FileTouch}).
 *
 * <p>It knows nothing of the agent runtime: the server adapts {@link dev.carapace.guard.call.ToolCallPolicy} to the
 * runtime's guard seam, and agents are described to it as a {@link dev.carapace.guard.call.Caller}.
 */
package dev.carapace.guard.call;
