package dev.carapace.channel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;

import java.util.Iterator;
import java.util.Set;
import java.util.function.Supplier;

/**
 * {@code send_message}: the agent writes to someone on one of its channels (an e-mail, a Slack DM), not as a reply.
 * The guard admits each call like any tool's; the hub then holds it to the channels that route to the agent and
 * screens what goes to anyone outside the organisation (see {@link ChannelHub#sendAs}).
 */
public final class SendMessageTool implements AgentTool {

    public static final String NAME = "send_message";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> FIELDS = Set.of("channel", "to", "subject", "text");
    private static final String SCHEMA = """
            {"type":"object","properties":{
              "channel":{"type":"string","description":"one of your channels"},
              "to":{"type":"string","description":"the recipient as the channel names them: an e-mail address, a user id"},
              "subject":{"type":"string","description":"for e-mail"},
              "text":{"type":"string"}},
             "required":["channel","to","text"]}""";

    /** The hub is built after the runtime that runs this tool; it is asked at each call. */
    private final Supplier<ChannelHub> hub;

    public SendMessageTool(Supplier<ChannelHub> hub) { this.hub = hub; }

    @Override
    public String name() { return NAME; }

    @Override
    public String description() {
        return "Send a message to someone on one of your channels (e-mail, chat). Messages to people outside the "
                + "organisation are screened for private data.";
    }

    @Override
    public ObjectNode parameters() {
        try {
            return (ObjectNode) JSON.readTree(SCHEMA);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public ToolResult run(JsonNode arguments, ToolContext context) throws InterruptedException {
        if (arguments == null || !arguments.isObject()) return ToolResult.error(NAME + ": arguments must be an object");
        for (Iterator<String> it = arguments.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) return ToolResult.error(NAME + ": unknown argument '" + dev.carapace.text.Excerpt.clip(f, 30)
                    + "' (expected channel, to, subject, text)");
        }
        for (String f : new String[]{"channel", "to", "subject", "text"}) {
            JsonNode v = arguments.get(f);
            if (v != null && !v.isTextual()) return ToolResult.error(NAME + ": " + f + " must be a string");
        }
        String subject = arguments.path("subject").isTextual() ? arguments.get("subject").asText() : null;
        if (subject != null && (subject.length() > 200 || subject.chars().anyMatch(c -> c < 0x20))) {
            return ToolResult.error(NAME + ": subject: one line of at most 200 characters");
        }
        try {
            return ToolResult.ok(hub.get().sendAs(context.agentId(), arguments.path("channel").asText(""),
                    arguments.path("to").asText(""), subject, arguments.path("text").asText("")));
        } catch (IllegalArgumentException e) {
            return ToolResult.error(NAME + ": " + e.getMessage());
        } catch (ChannelException e) {
            return ToolResult.error(NAME + ": not sent: " + e.getMessage());
        }
    }
}
