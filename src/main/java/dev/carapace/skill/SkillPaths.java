package dev.carapace.skill;

import dev.carapace.text.Invisible;

import java.util.List;
import java.util.regex.Pattern;

/**
 * The check every {@link SkillFiles} makes on a path it was asked for, before touching anything: the path must name
 * a file inside the skill by plain relative names.
 */
public final class SkillPaths {

    public static final int MAX_PATH_CHARS = 512;
    private static final Pattern ENCODED = Pattern.compile("%[0-9a-fA-F]{2}");

    private SkillPaths() {}

    /** The path's names, checked; a {@link SkillFileException} says what is wrong with it and what is expected. */
    public static List<String> names(String path) throws SkillFileException {
        if (path == null || path.isBlank()) throw refused(path, "the path is empty");
        if (path.length() > MAX_PATH_CHARS) throw refused(path, "the path is longer than " + MAX_PATH_CHARS + " characters");
        if (path.indexOf('\0') >= 0) throw refused(path, "the path holds a NUL character");
        for (int i = 0; i < path.length(); ) {
            int cp = path.codePointAt(i);
            i += Character.charCount(cp);
            if (Invisible.is(cp)) throw refused(path, "the path holds a control or hidden character");
        }
        if (path.startsWith("/") || path.startsWith("~") || path.matches("^[A-Za-z]:.*")) {
            throw refused(path, "the path is absolute");
        }
        if (path.indexOf('\\') >= 0) throw refused(path, "the path holds '\\'; separate names with '/'");
        if (ENCODED.matcher(path).find()) throw refused(path, "the path is percent-encoded; write it as it is");
        List<String> names = List.of(path.split("/+"));
        for (String n : names) {
            if (n.equals("..")) throw refused(path, "the path leaves the skill's folder ('..')");
        }
        List<String> kept = names.stream().filter(n -> !n.isEmpty() && !n.equals(".")).toList();
        // "." alone names no file (it would be stored under an empty path no reviewer can open); a name with a space at
        // either end reads as its neighbour without it ("SKILL.md " beside "SKILL.md")
        if (kept.isEmpty()) throw refused(path, "the path names the skill's folder, not a file in it");
        for (String n : kept) {
            if (!n.equals(n.strip())) throw refused(path, "a name starts or ends with a space");
        }
        return kept;
    }

    static SkillFileException refused(String path, String why) {
        return new SkillFileException((path == null ? "''" : SkillText.quote(path)) + " refused: " + why
                + "; expected a path inside the skill such as references/guide.md");
    }
}
