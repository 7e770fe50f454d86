/**
 * Text helpers every package may use, depending on none: how a message quotes a value it did not choose
 * ({@link dev.carapace.text.Excerpt}).
 */
package dev.carapace.text;
