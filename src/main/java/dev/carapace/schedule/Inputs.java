package dev.carapace.schedule;

import static dev.carapace.text.Excerpt.clip;

/** The checks every text field of a schedule gets before anything parses it: present, bounded, printable. */
final class Inputs {

    private Inputs() {}

    /** @throws InvalidScheduleException when {@code value} is blank, longer than {@code max} or holds a control character */
    static void check(String field, String value, int max) {
        if (value == null || value.isBlank()) {
            throw new InvalidScheduleException(field, "is empty");
        }
        if (value.length() > max) {
            throw new InvalidScheduleException(field, "is " + value.length() + " characters long; at most " + max
                    + " are accepted ('" + printable(clip(value, 40)) + "')");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isISOControl(c) && c != '\t') {
                throw new InvalidScheduleException(field, String.format("contains a control character (U+%04X) at "
                        + "position %d; expected printable text", (int) c, i + 1));
            }
        }
    }

    /** {@code s} with control characters shown as {@code \\uXXXX}, so a message stays one clean line. */
    static String printable(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c)) out.append(String.format("\\u%04X", (int) c));
            else out.append(c);
        }
        return out.toString();
    }
}
