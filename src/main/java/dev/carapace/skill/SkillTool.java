package dev.carapace.skill;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.Set;

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
    private static final Set<String> ARGUMENTS = Set.of("action", "name", "file");
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
        if (arguments == null || !arguments.isObject()) return ToolResult.error("arguments: expected an object");
        for (var it = arguments.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!ARGUMENTS.contains(f)) {
                return ToolResult.error(SkillText.quote(f) + " is not an argument of skill; it takes action, name and file");
            }
            if (!arguments.get(f).isTextual()) return ToolResult.error(f + ": expected a string");
        }
        String action = arguments.path("action").asText("read");
        return switch (action) {
            case "list" -> list(context.agentId());
            case "read" -> read(context.agentId(), arguments);
            default -> ToolResult.error("action: 'read' or 'list', got " + SkillText.quote(action));
        };
    }

    private ToolResult list(String agentId) {
        List<SkillCatalog.Entry> entries = catalog.entries(agentId);
        if (entries.isEmpty()) return ToolResult.ok("No skills are installed for you.");
        StringBuilder sb = new StringBuilder();
        for (SkillCatalog.Entry e : entries) {
            SkillDocument d = e.skill().doc();
            sb.append("- ").append(d.name());
            if (!e.available()) sb.append(" [unavailable: ").append(e.eligibility().reason()).append(']');
            else if (!d.modelInvocable()) sb.append(" [only when the user asks for it]");
            sb.append(": ").append(SkillText.oneLine(d.description())).append('\n');
        }
        return ToolResult.ok(capped(sb.toString().stripTrailing()));
    }

    private ToolResult read(String agentId, JsonNode arguments) {
        String name = arguments.path("name").asText("");
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
            if (!arguments.hasNonNull("file")) {
                List<String> others = skill.files().list().stream().filter(f -> !f.equals(SkillFolders.SKILL_MD)).toList();
                String files = others.isEmpty() ? "" : "\n\n[Files of this skill, read with {\"name\":\"" + name
                        + "\",\"file\":\"PATH\"}: " + String.join(", ", others) + "]";
                return ToolResult.ok(capped("# Skill " + name + "\n\n" + skill.doc().body().stripTrailing()) + files);
            }
            String path = arguments.get("file").asText();
            byte[] bytes = skill.files().read(path, MAX_FILE_BYTES);
            return ToolResult.ok(capped(text(bytes, path)));
        } catch (SkillFileException ex) {
            return ToolResult.error(ex.getMessage());
        }
    }

    private static String text(byte[] bytes, String path) throws SkillFileException {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new SkillFileException(SkillText.quote(path) + " is not UTF-8 text; only text files are read");
        }
    }

    private static String capped(String text) {
        if (text.length() <= MAX_OUTPUT_CHARS) return text;
        int end = Character.isHighSurrogate(text.charAt(MAX_OUTPUT_CHARS - 1)) ? MAX_OUTPUT_CHARS - 1 : MAX_OUTPUT_CHARS;
        return text.substring(0, end) + "\n[cut: " + (text.length() - end) + " more characters]";
    }
}
