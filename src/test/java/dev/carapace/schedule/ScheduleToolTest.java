package dev.carapace.schedule;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Agents;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;
import dev.carapace.identity.Principal;
import dev.carapace.schedule.JobFakes.FakeClock;
import dev.carapace.schedule.JobFakes.MemoryBudgets;
import dev.carapace.schedule.JobFakes.MemoryDueQueue;
import dev.carapace.schedule.JobFakes.MemoryJobStore;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The agents' {@code schedule} tool: an agent may schedule only itself, owned (and paid) by its owner, with none of
 * its tools unless it names some of its own, within the minimum interval and a cap on how many jobs it holds; and it
 * sees and removes only the jobs it made.
 */
class ScheduleToolTest {

    static final ObjectMapper JSON = new ObjectMapper();

    final FakeClock clock = new FakeClock(JobServiceTest.NOW);
    final MemoryJobStore store = new MemoryJobStore(clock);
    final MemoryDueQueue due = new MemoryDueQueue();
    final Agents agents = JobServiceTest.agents();
    final JobService service = new JobService(store, due, agents, new MemoryBudgets(), new JobEvents(), clock,
            Duration.ofMinutes(1), JobServiceTest.USERS::contains);
    final ScheduleTool tool = new ScheduleTool(service, agents,
            owner -> new Principal("acme", owner.team(), owner.user(), Principal.Role.MEMBER, null));

    ToolResult call(String agent, String json) throws Exception {
        return tool.run(JSON.readTree(json), new ToolContext(agent, "agent:" + agent + ":main", Path.of("/tmp/ws"),
                Duration.ofSeconds(5), 4096));
    }

    @Test
    void anAgentSchedulesItselfOwnedByItsOwnerWithNoToolsUnlessItNamesSome() throws Exception {
        ToolResult r = call("helper", """
                {"action":"add","id":"nightly","cron":"0 2 * * *","zone":"Europe/Paris","message":"tidy notes"}""");

        assertThat(r.error()).as(r.content()).isFalse();
        Job j = store.jobs.get("nightly");
        assertThat(j.spec().agent()).isEqualTo("helper");
        assertThat(j.spec().owner()).isEqualTo(new AgentSpec.Owner(null, "platform"));
        assertThat(j.source()).isEqualTo("agent");
        assertThat(j.spec().limits().tools()).isEmpty();
        assertThat(due.due.get("nightly")).isEqualTo(j.nextDueAt());

        assertThat(call("helper", """
                {"action":"add","id":"reader","every":"1h","message":"read","tools":["read"]}""").error()).isFalse();
        assertThat(store.jobs.get("reader").spec().limits().tools()).containsExactly("read");
    }

    /**
     * Regression: a member running their team's agent had it schedule a job owned by the team, which then ran as the
     * team alone, outside the member's own budget. The job is the member's, as the run that scheduled it was.
     */
    @Test
    void aJobScheduledInAMembersRunOfATeamAgentIsTheMembersAndTheyAloneSeeIt() throws Exception {
        Principal alice = new Principal("acme", "platform", "alice", Principal.Role.MEMBER, null, "helper", null);
        ToolResult r = tool.run(JSON.readTree("""
                {"action":"add","id":"alices-nightly","every":"1h","message":"tidy"}"""), runBy(alice));

        assertThat(r.error()).as(r.content()).isFalse();
        Job j = store.jobs.get("alices-nightly");
        assertThat(j.spec().owner()).isEqualTo(new AgentSpec.Owner("alice", "platform"));
        assertThat(j.createdBy()).isEqualTo("alice");
        // bob's run of the same agent neither lists nor removes it
        Principal bob = new Principal("acme", "platform", "bob", Principal.Role.MEMBER, null, "helper", null);
        assertThat(tool.run(JSON.readTree("{\"action\":\"list\"}"), runBy(bob)).content()).doesNotContain("alices-nightly");
        assertThat(tool.run(JSON.readTree("{\"action\":\"remove\",\"id\":\"alices-nightly\"}"), runBy(bob)).error()).isTrue();
        assertThat(store.jobs).containsKey("alices-nightly");
        // a run nobody in particular started (a heartbeat) schedules the agent owner's, as before
        assertThat(tool.run(JSON.readTree("""
                {"action":"add","id":"team-beat","every":"1h","message":"m"}"""), runBy(null)).error()).isFalse();
        assertThat(store.jobs.get("team-beat").spec().owner()).isEqualTo(new AgentSpec.Owner(null, "platform"));
    }

    private static ToolContext runBy(Principal caller) {
        return new ToolContext("helper", "agent:helper:main", Path.of("/tmp/ws"), Duration.ofSeconds(5), 4096,
                null, null, null, caller);
    }

    @Test
    void itCannotGiveItsJobAToolItLacksNorRunFasterThanTheMinimum() throws Exception {
        ToolResult tool = call("helper", """
                {"action":"add","id":"x","every":"1h","message":"m","tools":["exec"]}""");
        assertThat(tool.error()).isTrue();
        assertThat(tool.content()).contains("limits.tools").contains("no tool 'exec'");
        ToolResult fast = call("helper", """
                {"action":"add","id":"y","every":"10s","message":"m"}""");
        assertThat(fast.error()).isTrue();
        assertThat(fast.content()).contains("schedule.every");
        ToolResult stray = call("helper", """
                {"action":"add","id":"z","every":"1h","message":"m","agent":"lab"}""");
        assertThat(stray.error()).isTrue();
        assertThat(stray.content()).contains("'agent' is not an argument");
        assertThat(store.jobs).isEmpty();
        assertThat(due.due).isEmpty();
    }

    @Test
    void anAgentHoldsAtMostTenJobs() throws Exception {
        for (int i = 0; i < ScheduleTool.MAX_JOBS_PER_AGENT; i++) {
            assertThat(call("helper", "{\"action\":\"add\",\"id\":\"j" + i + "\",\"every\":\"1h\",\"message\":\"m\"}").error()).isFalse();
        }
        ToolResult more = call("helper", "{\"action\":\"add\",\"id\":\"j99\",\"every\":\"1h\",\"message\":\"m\"}");
        assertThat(more.error()).isTrue();
        assertThat(more.content()).contains("the most an agent may hold");
        assertThat(store.jobs).hasSize(ScheduleTool.MAX_JOBS_PER_AGENT);
    }

    @Test
    void itListsAndRemovesOnlyTheJobsItMade() throws Exception {
        Principal admin = new Principal("acme", "platform", "root", Principal.Role.ADMIN, null);
        service.add(JobServiceTest.job("by-api"), admin, "api");
        assertThat(call("helper", "{\"action\":\"add\",\"id\":\"mine\",\"every\":\"1h\",\"message\":\"m\"}").error()).isFalse();
        assertThat(call("lab", "{\"action\":\"add\",\"id\":\"labs\",\"every\":\"1h\",\"message\":\"m\"}").error()).isFalse();

        JsonNode listed = JSON.readTree(call("helper", "{\"action\":\"list\"}").content());
        assertThat(listed.findValuesAsText("id")).containsExactly("mine");
        ToolResult other = call("helper", "{\"action\":\"remove\",\"id\":\"by-api\"}");
        assertThat(other.error()).isTrue();
        assertThat(call("helper", "{\"action\":\"remove\",\"id\":\"labs\"}").error()).isTrue();
        assertThat(store.jobs).containsKeys("by-api", "labs", "mine");
        assertThat(call("helper", "{\"action\":\"remove\",\"id\":\"mine\"}").error()).isFalse();
        assertThat(store.jobs).containsOnlyKeys("by-api", "labs");
    }

    @Test
    void badArgumentsAreClearErrors() throws Exception {
        assertThat(call("helper", "{\"action\":\"explode\"}").content()).isEqualTo("action: add, list or remove");
        assertThat(call("helper", "[1,2]").content()).isEqualTo("arguments: expected an object");
        ToolResult noSchedule = call("helper", "{\"action\":\"add\",\"id\":\"q\",\"message\":\"m\"}");
        assertThat(noSchedule.error()).isTrue();
        assertThat(noSchedule.content()).contains("schedule");
        assertThat(store.jobs).isEmpty();
    }
}
