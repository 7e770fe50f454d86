/**
 * File paths as the guard judges them: one canonicaliser ({@link dev.carapace.guard.fs.RealPaths}) that both the
 * policy decision and the file tools' confinement use, so the path a rule is matched against is computed exactly
 * as the path a tool then opens.
 */
package dev.carapace.guard.fs;
