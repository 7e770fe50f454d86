/**
 * Text helpers every package may use, depending on none, for text Carapace did not choose: how a message quotes it
 * ({@link dev.carapace.text.Excerpt}), regex matching that cannot hang ({@link dev.carapace.text.BoundedRegex}), and
 * durations as people write them ({@link dev.carapace.text.Durations}: {@code 30m}, {@code 2h30m}, {@code PT2H}).
 */
package dev.carapace.text;
