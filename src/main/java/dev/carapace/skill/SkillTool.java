package dev.carapace.skill;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;
import dev.carapace.agent.tools.ArgumentException;
import dev.carapace.agent.tools.Args;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * {@code skill}: the on-demand half of progressive disclosure. {@code {"action": "list"}} lists the agent's skills,
 * available or not (with the reason); {@code {"name": "X"}} returns a skill's instructions (its {@code SKILL.md}
 * body) and the names of its other files; {@code {"name": "X", "file": "references/a.md"}} returns one of them.
 * A path that would leave the skill's folder is refused before anything is opened (see {@link SkillFiles}); output
 * is capped. A skill unavailable here is not read: its reason is given instead.
 */
public final class SkillTool implements AgentTool {

    public static final String NAME = "skill";
    /** The most characters one result carries; the rest is cut with a note. */
    public static final int MAX_OUTPUT_CHARS = 48 * 1024;
    /** The largest file read. */
    public static final int MAX_FILE_BYTES = 256 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String BASE_DIR = "{baseDir}";
    private static final ObjectNode PARAMETERS;

    static {
        try {
            PARAMETERS = (ObjectNode) JSON.readTree("""
                    {"type":"object","properties":{
                      "action":{"type":"string","enum":["read","list"],"description":"read (default) or list"},
                      "name":{"type":"string","description":"the skill's name"},
                      "file":{"type":"string","description":"a file of the skill, e.g. references/guide.md"}}}""");
        } catch (JsonProcessingException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final SkillCatalog catalog;

    public SkillTool(SkillCatalog catalog) {
        this.catalog = catalog;
    }

    @Override
    public String name() { return NAME; }

    @Override
    public String description() {
        return "Read a skill's instructions ({\"name\":\"X\"}) or one of its files ({\"name\":\"X\",\"file\":\"path\"}),"
                + " or list every skill ({\"action\":\"list\"}).";
    }

    @Override
    public ObjectNode parameters() { return PARAMETERS.deepCopy(); }

    @Override
    public ToolResult run(JsonNode arguments, ToolContext context) {
        try {
            Args args = Args.of(arguments, "action", "name", "file");
            String action = args.string("action", "read");
            return switch (action) {
                case "list" -> list(context.agentId());
                case "read" -> read(context, args.string("name", ""), args.string("file", null));
                default -> ToolResult.error("argument 'action' must be read or list, got " + SkillText.quote(action));
            };
        } catch (ArgumentException e) {
            return ToolResult.error(e.getMessage());
        }
    }

    private ToolResult list(String agentId) {
        List<SkillCatalog.Entry> entries = catalog.entries(agentId);
        if (entries.isEmpty()) return ToolResult.ok("No skills are installed for you.");
        StringBuilder sb = new StringBuilder();
        for (SkillCatalog.Entry e : entries) {
            SkillDocument d = e.skill().doc();
            sb.append("- ").append(d.name());
            if (!e.available()) sb.append(" [unavailable: ").append(SkillText.oneLine(e.eligibility().reason())).append(']');
            else if (!d.modelInvocable()) sb.append(" [only when the user asks for it]");
            sb.append(": ").append(SkillText.oneLine(d.description())).append('\n');
        }
        return ToolResult.ok(capped(sb.toString().stripTrailing()));
    }

    private ToolResult read(ToolContext context, String name, String path) {
        String agentId = context.agentId();
        if (name.isEmpty()) return ToolResult.error("name: which skill? {\"action\":\"list\"} lists them");
        Optional<SkillCatalog.Entry> found = catalog.find(agentId, name);
        if (found.isEmpty()) {
            return ToolResult.error("no skill " + SkillText.quote(name) + " for you; {\"action\":\"list\"} lists them");
        }
        SkillCatalog.Entry e = found.get();
        if (!e.available()) {
            return ToolResult.error("skill " + name + " is unavailable on this gateway: " + e.eligibility().reason());
        }
        Skill skill = e.skill();
        try {
            if (path == null) {
                List<String> others = skill.files().list().stream().filter(f -> !f.equals(SkillFolders.SKILL_MD)).toList();
                String files = others.isEmpty() ? "" : "\n\n[Files of this skill, read with {\"name\":\"" + name
                        + "\",\"file\":\"PATH\"}: " + String.join(", ", others) + "]";
                String body = withBaseDir(skill, skill.doc().body(), context.workspace());
                return ToolResult.ok(capped("# Skill " + name + "\n\n" + body.stripTrailing()) + files);
            }
            byte[] bytes = skill.files().read(path, MAX_FILE_BYTES);
            return ToolResult.ok(capped(text(bytes, path)));
        } catch (SkillFileException ex) {
            return ToolResult.error(ex.getMessage());
        }
    }

    /**
     * OpenClaw's {@code {baseDir}} (the skill's folder, for commands that run its scripts) as a path relative to the
     * agent's workspace when the skill lies in it; elsewhere it is left as written (the agent reads those files with
     * this tool, and its commands cannot reach them).
     */
    private static String withBaseDir(Skill skill, String body, Path workspace) {
        if (!body.contains(BASE_DIR) || !(skill.files() instanceof FolderSkillFiles f) || workspace == null) return body;
        if (!f.folder().startsWith(workspace)) return body;
        String relative = workspace.relativize(f.folder()).toString();
        return body.replace(BASE_DIR, relative.isEmpty() ? "." : relative);
    }

    private static String text(byte[] bytes, String path) throws SkillFileException {
        String text = SkillText.servable(bytes);
        if (text == null) {
            throw new SkillFileException(SkillText.quote(path) + " is not UTF-8 text (or holds a NUL byte); only text files are read");
        }
        return text;
    }

    private static String capped(String text) {
        if (text.length() <= MAX_OUTPUT_CHARS) return text;
        int end = Character.isHighSurrogate(text.charAt(MAX_OUTPUT_CHARS - 1)) ? MAX_OUTPUT_CHARS - 1 : MAX_OUTPUT_CHARS;
        return text.substring(0, end) + "\n[cut: " + (text.length() - end) + " more characters]";
    }
}
