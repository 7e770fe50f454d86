package dev.carapace.skill;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A parsed {@code SKILL.md}: its front matter's fields and its markdown body.
 *
 * @param name                   the skill's name: letters, digits, {@code -}, {@code _} and {@code .}, at most 64
 * @param description            what it does and when to use it, as written (possibly several lines)
 * @param userInvocable          OpenClaw's {@code user-invocable} (default true): a user may call it by name
 * @param disableModelInvocation OpenClaw's {@code disable-model-invocation} (default false): kept out of the
 *                               model's prompt, so only a user can call it
 * @param homepage               the front matter's {@code homepage}, else {@code metadata.openclaw.homepage}; or null
 * @param license                the front matter's {@code license}, or null
 * @param openclaw               the {@code metadata.openclaw} block, or null when there is none
 * @param needs                  what the skill declares it needs (tools, commands, hosts)
 * @param frontMatter            every front-matter key as read (strings, numbers, booleans, lists, maps; a JSON5
 *                               {@code metadata} string is given parsed), unmodifiable
 * @param body                   the markdown after the front matter, with line ends as {@code \n}
 */
public record SkillDocument(String name, String description, boolean userInvocable, boolean disableModelInvocation,
                            String homepage, String license, OpenClawMetadata openclaw, SkillNeeds needs,
                            Map<String, Object> frontMatter, String body) {

    public SkillDocument {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(needs, "needs");
        Objects.requireNonNull(frontMatter, "frontMatter");
        Objects.requireNonNull(body, "body");
    }

    /** The tools it may use, from {@code allowed-tools}: the same list as {@code needs().tools()}. */
    public List<String> allowedTools() {
        return needs.tools();
    }

    /** The key of its per-skill config entry: {@code metadata.openclaw.skillKey}, else its name. */
    public String configKey() {
        return openclaw != null && openclaw.skillKey() != null ? openclaw.skillKey() : name;
    }

    /** Whether the model may see it in its prompt and choose it on its own. */
    public boolean modelInvocable() {
        return !disableModelInvocation;
    }
}
