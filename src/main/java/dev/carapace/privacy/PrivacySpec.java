package dev.carapace.privacy;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The privacy router's settings for one org: what to do with each class of data (for the whole org, and overridden
 * per team and per agent), the org's own dictionaries and patterns, how to treat images, and the regions whose
 * national phone formats are recognised.
 *
 * @param actions      the org's action per class; classes not listed take {@link #defaultAction}
 * @param teams        per team, actions that override the org's for the classes they list
 * @param agents       per agent id, actions that override its team's and the org's
 * @param imageClass   the class images and other binary parts count as, or null to let them through unclassified
 * @param phoneRegions ISO 3166 region codes (e.g. US, DE) whose national phone formats are recognised; numbers
 *                     written with a leading + are recognised for every region
 */
public record PrivacySpec(Map<String, Action> actions, Map<String, Map<String, Action>> teams,
                          Map<String, Map<String, Action>> agents, String imageClass, List<String> phoneRegions,
                          List<Dictionary> dictionaries, List<CustomPattern> patterns) {

    public static final List<String> DEFAULT_PHONE_REGIONS = List.of("US", "GB", "DE", "FR");

    /** Defaults only: secrets blocked, personal data redacted, confidential terms kept on private models. */
    public static final PrivacySpec DEFAULT = new PrivacySpec(Map.of(), Map.of(), Map.of(), null, DEFAULT_PHONE_REGIONS,
            List.of(), List.of());

    public PrivacySpec {
        actions = Map.copyOf(actions);
        teams = Map.copyOf(teams);
        agents = Map.copyOf(agents);
        phoneRegions = List.copyOf(phoneRegions);
        dictionaries = List.copyOf(dictionaries);
        patterns = List.copyOf(patterns);
    }

    /**
     * Terms (project code names, customer names) found as whole words.
     *
     * @param type the finding type, and the placeholder's name ({@code code_name} gives {@code <CODE_NAME_1>})
     */
    public record Dictionary(String type, String dataClass, List<String> terms, boolean caseSensitive) {
        public Dictionary {
            terms = List.copyOf(terms);
        }
    }

    /** A regular expression whose matches are findings of {@code type} and {@code dataClass}. */
    public record CustomPattern(String type, String dataClass, Pattern regex) {}

    /** Whether libphonenumber knows the numbering plan of this ISO 3166 region code (US, DE, ...). */
    public static boolean isPhoneRegion(String code) {
        return com.google.i18n.phonenumbers.PhoneNumberUtil.getInstance().getSupportedRegions().contains(code);
    }

    /** What a class gets when no level of the config names it: secrets blocked, confidential private, the rest redacted. */
    public static Action defaultAction(String dataClass) {
        return switch (dataClass) {
            case Finding.SECRET -> Action.BLOCK;
            case Finding.CONFIDENTIAL -> Action.PRIVATE;
            default -> Action.REDACT;
        };
    }

    /** The action for a class of data in a call by {@code team} (and {@code agent}, or null): agent, then team, then org. */
    public Action actionFor(String team, String agent, String dataClass) {
        Map<String, Action> a = agent == null ? null : agents.get(agent);
        if (a != null && a.containsKey(dataClass)) return a.get(dataClass);
        Map<String, Action> t = team == null ? null : teams.get(team);
        if (t != null && t.containsKey(dataClass)) return t.get(dataClass);
        Action o = actions.get(dataClass);
        return o != null ? o : defaultAction(dataClass);
    }
}
