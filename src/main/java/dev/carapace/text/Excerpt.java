package dev.carapace.text;

/**
 * What a message may quote of a value it did not choose: a client's field, a name from a config or a policy, a
 * command. A message names what was wrong by quoting it, and a quote is bounded so that a megabyte-long value makes a
 * one-line message.
 */
public final class Excerpt {

    private Excerpt() {}

    /**
     * {@code value} up to {@code max} characters, followed by "..." when it was longer; "" for null. A cut never splits
     * a surrogate pair, so the excerpt is valid text whatever it quotes.
     */
    public static String clip(String value, int max) {
        if (value == null) return "";
        if (value.length() <= max) return value;
        int end = Character.isHighSurrogate(value.charAt(max - 1)) ? max - 1 : max;
        return value.substring(0, end) + "...";
    }
}
