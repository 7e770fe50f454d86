package dev.carapace.schedule;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.Agents;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code schedule}: lets an agent add, list and remove jobs that run itself later. Like any tool, the agent's policy
 * may allow it, deny it or send each call for approval; an agent scheduling itself forever is the classic runaway, so
 * the jobs it adds are owned by whom its run calls models as (the user who started it, else its owner), who pays for
 * and sees them, run only itself with no tools unless it names
 * some of its own, keep the job defaults' limits, and it may hold at most {@link #MAX_JOBS_PER_AGENT} at a time.
 */
public final class ScheduleTool implements AgentTool {

    public static final String NAME = "schedule";
    static final int MAX_JOBS_PER_AGENT = 10;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ARGUMENTS = Set.of("action", "id", "cron", "at", "every", "zone", "message", "tools");
    private static final ObjectNode PARAMETERS;

    static {
        try {
            PARAMETERS = (ObjectNode) JSON.readTree("""
                    {"type":"object","properties":{
                      "action":{"type":"string","enum":["add","list","remove"]},
                      "id":{"type":"string","description":"the job's id (add, remove)"},
                      "cron":{"type":"string","description":"5-field cron, e.g. 0 9 * * 1-5"},
                      "at":{"type":"string","description":"an ISO instant, or a delay like 2h"},
                      "every":{"type":"string","description":"an interval like 30m"},
                      "zone":{"type":"string","description":"time zone, e.g. Europe/Paris"},
                      "message":{"type":"string","description":"what you will be told when it runs"},
                      "tools":{"type":"array","items":{"type":"string"},"description":"your tools the run needs"}},
                     "required":["action"]}""");
        } catch (JsonProcessingException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final JobService jobs;
    private final Agents agents;
    private final Function<AgentSpec.Owner, Principal> owners;

    /** @param owners the principal a job's owner acts as (refusing one whose keys were all revoked) */
    public ScheduleTool(JobService jobs, Agents agents, Function<AgentSpec.Owner, Principal> owners) {
        this.jobs = jobs;
        this.agents = agents;
        this.owners = owners;
    }

    @Override
    public String name() { return NAME; }

    @Override
    public String description() {
        return "Schedule yourself to run later (cron, at, every), list your scheduled jobs, or remove one.";
    }

    @Override
    public ObjectNode parameters() { return PARAMETERS.deepCopy(); }

    @Override
    public ToolResult run(JsonNode arguments, ToolContext context) {
        if (arguments == null || !arguments.isObject()) return ToolResult.error("arguments: expected an object");
        for (var it = arguments.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!ARGUMENTS.contains(f)) return ToolResult.error("'" + dev.carapace.text.Excerpt.clip(f, 40) + "' is not an argument of schedule");
        }
        AgentSpec agent = agents.find(context.agentId()).orElse(null);
        if (agent == null) return ToolResult.error("schedule: no agent '" + context.agentId() + "'");
        // The jobs are theirs whom the run calls models as: a member running their team's agent schedules their own
        // job, charged to them as the run is (a team's job would run outside their own budget); a run nobody in
        // particular started (a heartbeat, a team's channel) schedules its agent owner's.
        Principal caller = context.caller();
        AgentSpec.Owner jobOwner = caller != null && caller.user() != null
                ? new AgentSpec.Owner(caller.user(), caller.team()) : agent.owner();
        Principal owner;
        try {
            owner = owners.apply(jobOwner);
        } catch (ApiException e) {
            return ToolResult.error("schedule: " + e.getMessage());
        }
        List<Job> mine = jobs.list(owner).stream()
                .filter(j -> j.source().equals("agent") && agent.id().equals(j.spec().agent())).toList();
        try {
            return switch (arguments.path("action").asText("")) {
                case "list" -> ToolResult.ok(JSON.writeValueAsString(mine.stream().map(j -> Map.of("id", j.id(),
                        "state", j.state().label(), "next", String.valueOf(j.nextDueAt()))).toList()));
                case "remove" -> {
                    String id = arguments.path("id").asText("");
                    if (mine.stream().noneMatch(j -> j.id().equals(id))) yield ToolResult.error("remove: you have no job '" + dev.carapace.text.Excerpt.clip(id, 64) + "'");
                    jobs.remove(id, owner);
                    yield ToolResult.ok("removed " + id);
                }
                case "add" -> {
                    if (mine.size() >= MAX_JOBS_PER_AGENT) {
                        yield ToolResult.error("add: you have " + mine.size() + " jobs, the most an agent may hold; remove one first");
                    }
                    Map<String, Object> def = new LinkedHashMap<>();
                    def.put("id", arguments.path("id").asText(""));
                    def.put("agent", agent.id());
                    def.put("message", arguments.path("message").asText(""));
                    Map<String, Object> s = new LinkedHashMap<>();
                    for (String k : List.of("cron", "at", "every", "zone")) if (arguments.hasNonNull(k)) s.put(k, arguments.get(k).asText());
                    def.put("schedule", s);
                    if (arguments.has("tools")) def.put("limits", Map.of("tools", JSON.convertValue(arguments.get("tools"), List.class)));
                    Job j = jobs.add(JobSpecReader.read(def, null, jobOwner), owner, "agent");
                    yield ToolResult.ok("scheduled " + j.id() + ": next run " + j.nextDueAt());
                }
                default -> ToolResult.error("action: add, list or remove");
            };
        } catch (ApiException e) {
            return ToolResult.error(e.getMessage());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
