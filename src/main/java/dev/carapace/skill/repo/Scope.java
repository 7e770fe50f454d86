package dev.carapace.skill.repo;

import java.util.regex.Pattern;

import static dev.carapace.text.Excerpt.clip;

/**
 * Where an install applies: {@code org} (every agent), {@code team:NAME} (the agents its team owns) or
 * {@code agent:NAME} (one agent). An agent's skills are the union, the most specific install of a name winning.
 */
public record Scope(Kind kind, String name) {

    public enum Kind { ORG, TEAM, AGENT }

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    public static final Scope ORG = new Scope(Kind.ORG, null);

    /** Parses {@code org}, {@code team:NAME} or {@code agent:NAME}. */
    public static Scope parse(String text) {
        if (text == null) {
            throw new SkillRepoException(SkillRepoException.Kind.INVALID, "scope", "scope: required; expected org, "
                    + "team:NAME or agent:NAME");
        }
        if (text.isBlank()) throw invalid(text, "it is empty");
        if (text.equals("org")) return ORG;
        int colon = text.indexOf(':');
        String kind = colon < 0 ? text : text.substring(0, colon);
        String name = colon < 0 ? "" : text.substring(colon + 1);
        Kind k = switch (kind) {
            case "team" -> Kind.TEAM;
            case "agent" -> Kind.AGENT;
            default -> throw invalid(text, "it names no kind of scope");
        };
        if (!NAME.matcher(name).matches()) throw invalid(text, "the " + kind + "'s name must be 1-64 letters, digits, '.', '_' or '-'");
        return new Scope(k, name);
    }

    public static Scope team(String name) { return new Scope(Kind.TEAM, name); }

    public static Scope agent(String name) { return new Scope(Kind.AGENT, name); }

    @Override
    public String toString() {
        return switch (kind) {
            case ORG -> "org";
            case TEAM -> "team:" + name;
            case AGENT -> "agent:" + name;
        };
    }

    private static SkillRepoException invalid(String text, String why) {
        return new SkillRepoException(SkillRepoException.Kind.INVALID, "scope", "scope: '" + clip(text, 80) + "' is not a scope ("
                + why + "); expected org, team:NAME or agent:NAME");
    }
}
