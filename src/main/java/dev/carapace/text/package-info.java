/**
 * Text helpers every package may use, depending on none, for text Carapace did not choose: how a message quotes it
 * ({@link dev.carapace.text.Excerpt}), and regex matching that cannot hang ({@link dev.carapace.text.BoundedRegex}).
 */
package dev.carapace.text;
