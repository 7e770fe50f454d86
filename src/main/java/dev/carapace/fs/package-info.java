/**
 * File paths as Carapace resolves them: one canonicaliser ({@link dev.carapace.fs.RealPaths}) that the guard's
 * decisions, the agent file tools' confinement and the config's writable-roots checks all use, so the path a rule
 * is matched against is computed exactly as the path a tool then opens.
 *
 * <p>It sits below {@code guard}, {@code agent} and {@code config} and knows none of them: the agent runtime reaches
 * the guard only through its own interfaces, and a shared canonicaliser is what keeps those two views of a path
 * from disagreeing (one for the decision, another for the open, would let a path pass one and mean something else
 * to the other).
 */
package dev.carapace.fs;
