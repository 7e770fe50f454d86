package dev.carapace.config;

import dev.carapace.agent.AgentSpec;
import dev.carapace.config.ConfigLoader.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class AgentConfigTest {

    @TempDir
    Path dir;

    /** Lines 1-13: a provider, a model, a team. */
    private static final String BASE = """
            providers:
              openai: {kind: openai, base_url: https://api.openai.com/v1}
            models:
              m-mid:
                tier: mid
                context_window: 128000
                max_output_tokens: 4096
                price: {input: 3, output: 6}
                deployments: [{provider: openai}]
            teams:
              platform: {}
            tiers: [free, mid, high]
            org: acme
            """;

    private Result check(String yaml) throws Exception {
        Path file = dir.resolve("carapace.yaml");
        Files.writeString(file, BASE + yaml);
        return ConfigLoader.check(file, name -> "x");
    }

    private List<String> errors(String yaml) throws Exception {
        return check(yaml).errors().stream().map(Object::toString).toList();
    }

    @Test
    void readsAnAgentWithEverySetting() throws Exception {
        Files.createDirectories(dir.resolve("ws/coder"));
        Files.createDirectories(dir.resolve("ws/helper"));
        Files.writeString(dir.resolve("strict.yaml"), "version: 1\ntools: {allow: [read]}\n");
        Result r = check("""
                guard:
                  policies:
                    strict: {file: strict.yaml}
                agents:
                  coder:
                    workspace: ws/coder
                    model: m-mid
                    fallbacks: [tier:free]
                    tools: [read, grep]
                    owner: {user: alice, team: platform}
                    limits: {max_steps: 5, max_wall: 2m, max_tokens: 5000, tool_timeout: 10s, max_tool_output: 8KiB}
                    on_busy: interrupt
                    policy: strict
                  helper:
                    workspace: ws/helper
                    model: tier:mid
                    owner: {team: platform}
                """);
        assertThat(r.errors()).isEmpty();
        AgentSpec coder = r.config().agents().get("coder");
        assertThat(coder.workspace()).isEqualTo(dir.resolve("ws/coder").toAbsolutePath().normalize());
        assertThat(coder.models()).containsExactly("m-mid", "tier:free");
        assertThat(coder.tools()).containsExactly("read", "grep");
        assertThat(coder.owner()).isEqualTo(new AgentSpec.Owner("alice", "platform"));
        assertThat(coder.limits()).isEqualTo(new AgentSpec.Limits(5, Duration.ofMinutes(2), 5000, Duration.ofSeconds(10), 8192));
        assertThat(coder.onBusy()).isEqualTo(AgentSpec.OnBusy.INTERRUPT);
        assertThat(coder.policy()).isEqualTo("strict");
        AgentSpec helper = r.config().agents().get("helper");
        assertThat(helper.limits()).isEqualTo(AgentSpec.Limits.DEFAULT);
        assertThat(helper.onBusy()).isEqualTo(AgentSpec.OnBusy.QUEUE);
        assertThat(helper.tools()).isEmpty();
        assertThat(helper.owner()).isEqualTo(new AgentSpec.Owner(null, "platform"));
    }

    @Test
    void reportsEveryAgentProblemWithFileLineAndPath() throws Exception {
        Files.createDirectories(dir.resolve("ws"));
        String file = dir.resolve("carapace.yaml").toString();
        List<String> errors = errors("""
                agents:
                  a1:
                    workspace: nowhere
                    model: gpt-9
                    tools: [read, exec, shell, read]
                    owner: {team: marketing}
                  a2:
                    workspace: ws
                    model: tier:gold
                    owner: {}
                    on_busy: panic
                    colour: blue
                  Bad_Id:
                    model: m-mid
                    owner: {user: alice}
                """);
        assertThat(errors).containsExactly(
                file + ":16:16: agents.a1.workspace: folder '" + dir.resolve("nowhere") + "' does not exist (create it, with the agent's instructions in AGENTS.md)",
                file + ":17:12: agents.a1.model: unknown model 'gpt-9' (known models: m-mid); or use tier:NAME",
                file + ":18:19: agents.a1.tools: tool 'exec' is off: commands run only where the config says: 'tools: {exec: bwrap}' (in a sandbox) or 'tools: {exec: local}' (on this host, with no isolation)",
                file + ":18:25: agents.a1.tools: unknown tool 'shell' (known tools: edit, exec, glob, grep, list, memory_search, memory_write, read, schedule, send_message, skill, spawn_agent, wait_agents, web_fetch, write)",
                file + ":18:32: agents.a1.tools: tool 'read' is listed twice",
                file + ":19:19: agents.a1.owner.team: unknown team 'marketing' (known teams: platform)",
                file + ":22:12: agents.a2.model: unknown tier 'gold' (known tiers: free, mid, high)",
                file + ":23:5: agents.a2.owner: expected {team: NAME} or {user: NAME} (a user may add team: NAME)",
                file + ":24:14: agents.a2.on_busy: unknown value 'panic' (expected one of: queue, interrupt)",
                file + ":25:5: agents.a2.colour: unknown key 'colour' (expected one of: workspace, model, fallbacks, tools, owner, limits, on_busy, policy, subagents, compaction, heartbeat)",
                file + ":26:3: agents.Bad_Id: invalid agent id 'Bad_Id' (expected lowercase letters, digits, '_' and '-', starting with a letter or digit, at most 63 characters)",
                file + ":26:3: agents.Bad_Id: missing required key 'workspace' (the agent's folder (holding its AGENTS.md))");
    }

    @Test
    void anAgentNeedsAChatModel() throws Exception {
        Files.createDirectories(dir.resolve("ws"));
        Path file = dir.resolve("carapace.yaml");
        Files.writeString(file, BASE.replace("teams:\n", "  m-embed: {kind: embedding, tier: mid, context_window: 8191,"
                + " price: {input: 0.02}, deployments: [{provider: openai}]}\nteams:\n") + """
                agents:
                  a1:
                    workspace: ws
                    model: m-embed
                    owner: {team: platform}
                """);
        assertThat(ConfigLoader.check(file, name -> "x").errors()).extracting(Object::toString).containsExactly(
                file + ":18:12: agents.a1.model: 'm-embed' is an embedding model; an agent needs a chat model");
    }

    @Test
    void discoversAgentFoldersNextToTheConfigWithTheSameChecks() throws Exception {
        Path good = Files.createDirectories(dir.resolve("agents/scribe"));
        Files.createDirectories(good.resolve("workspace"));
        Files.writeString(good.resolve("agent.yaml"), """
                model: m-mid
                tools: [write]
                owner: {team: platform}
                """);
        Path bad = Files.createDirectories(dir.resolve("agents/broken"));
        Files.createDirectories(bad.resolve("workspace"));
        Files.writeString(bad.resolve("agent.yaml"), """
                model: m-mid
                owner: {team: platform}
                tools: [teleport]
                api_key: sk-123
                """);
        Result r = check("");
        assertThat(r.errors()).extracting(Object::toString).containsExactly(
                bad.resolve("agent.yaml") + ":3:9: tools: unknown tool 'teleport' (known tools: edit, exec, glob, grep, list, memory_search, memory_write, read, schedule, send_message, skill, spawn_agent, wait_agents, web_fetch, write)",
                bad.resolve("agent.yaml") + ":4:1: api_key: secrets are not written in the config; put the value in an environment variable");

        Files.delete(bad.resolve("agent.yaml"));
        Result ok = check("");
        assertThat(ok.errors()).isEmpty();
        AgentSpec scribe = ok.config().agents().get("scribe");
        // the workspace is a folder inside the agent's folder, not the folder itself: that holds its definition
        assertThat(scribe.workspace()).isEqualTo(good.resolve("workspace").toAbsolutePath().normalize());
        assertThat(scribe.tools()).containsExactly("write");
    }

    @Test
    void anAgentDefinedTwiceIsAnError() throws Exception {
        Files.createDirectories(dir.resolve("ws"));
        Path folder = Files.createDirectories(dir.resolve("agents/twin/workspace")).getParent();
        Files.writeString(folder.resolve("agent.yaml"), "model: m-mid\nowner: {team: platform}\n");
        List<String> errors = errors("""
                agents:
                  twin: {workspace: ws, model: m-mid, owner: {team: platform}}
                """);
        assertThat(errors).containsExactly(folder.resolve("agent.yaml") + ":1:1: agent 'twin' is also defined in the config's agents: section");
    }

    @Test
    void execAndWebFetchCanBeListedOnceTheConfigSaysHowTheyRun() throws Exception {
        Files.createDirectories(dir.resolve("ws"));
        Result r = check("""
                tools: {exec: local, web_fetch: direct}
                agents:
                  ops:
                    workspace: ws
                    model: m-mid
                    tools: [exec, web_fetch, read]
                    owner: {team: platform}
                """);
        assertThat(r.errors()).isEmpty();
        assertThat(r.config().tools()).isEqualTo(new dev.carapace.config.CarapaceConfig.Tools(
                dev.carapace.config.CarapaceConfig.Tools.Exec.LOCAL, dev.carapace.config.CarapaceConfig.Tools.WebFetch.DIRECT));
        assertThat(r.config().agents().get("ops").tools()).containsExactly("exec", "web_fetch", "read");

        String file = dir.resolve("carapace.yaml").toString();
        assertThat(errors("""
                tools: {exec: docker, web_fetch: direct, ssh: on}
                """)).containsExactly(
                file + ":14:15: tools.exec: unknown value 'docker' (expected one of: off, local, bwrap)",
                file + ":14:42: tools.ssh: unknown key 'ssh' (expected one of: exec, web_fetch, sandbox, sandbox_user)");
        assertThat(check("").config().tools()).isEqualTo(dev.carapace.config.CarapaceConfig.Tools.DEFAULT);
    }

    @Test
    void readsTheSandboxLimitsAndRejectsBadOnes() throws Exception {
        Result r = check("""
                tools:
                  exec: bwrap
                  sandbox: {cpu_time: 30s, memory: 2GiB, processes: 100, file_size: 100MiB, tmp_size: 64MiB, open_files: 512}
                """);
        assertThat(r.errors()).isEmpty();
        assertThat(r.config().tools().exec()).isEqualTo(dev.carapace.config.CarapaceConfig.Tools.Exec.BWRAP);
        assertThat(r.config().tools().sandbox()).isEqualTo(new dev.carapace.guard.sandbox.SandboxLimits(
                java.time.Duration.ofSeconds(30), 2L << 30, 100, 100L << 20, 64L << 20, 512));
        assertThat(check("tools: {exec: bwrap}\n").config().tools().sandbox())
                .isEqualTo(dev.carapace.guard.sandbox.SandboxLimits.DEFAULT);

        String file = dir.resolve("carapace.yaml").toString();
        assertThat(errors("""
                tools:
                  exec: bwrap
                  sandbox: {memory: 1MiB, processes: 2, swap: 1GiB}
                """)).containsExactly(
                file + ":16:21: tools.sandbox.memory: must be between 16777216 and 4611686018427387903 bytes, got 1048576",
                file + ":16:38: tools.sandbox.processes: must be between 4 and 1000000, got 2",
                file + ":16:41: tools.sandbox.swap: unknown key 'swap' (expected one of: cpu_time, memory, processes,"
                        + " file_size, tmp_size, open_files)");
    }

    @Test
    void readsTheSandboxUserAndRefusesRoot() throws Exception {
        assertThat(check("tools: {exec: bwrap}\n").config().tools().sandboxUser()).isEqualTo("nobody");
        assertThat(check("tools: {exec: bwrap, sandbox_user: carapace-sbx}\n").config().tools().sandboxUser())
                .isEqualTo("carapace-sbx");
        assertThat(check("tools: {exec: bwrap, sandbox_user: \"2000:2000\"}\n").config().tools().sandboxUser())
                .isEqualTo("2000:2000");
        assertThat(String.join("\n", errors("tools: {exec: bwrap, sandbox_user: root}\n")))
                .contains("tools.sandbox_user: the sandbox user must not be root");
        assertThat(String.join("\n", errors("tools: {exec: bwrap, sandbox_user: \"0:0\"}\n")))
                .contains("tools.sandbox_user: the sandbox user must not be root");
        assertThat(String.join("\n", errors("tools: {exec: bwrap, sandbox_user: \"a b\"}\n")))
                .contains("tools.sandbox_user: expected a user name (e.g. nobody) or UID:GID");
    }

    @Test
    void readsSubAgentAndCompactionSettingsAndRejectsBadOnes() throws Exception {
        Files.createDirectories(dir.resolve("ws"));
        Result r = check("""
                agents:
                  lead:
                    workspace: ws
                    model: m-mid
                    tools: [read, spawn_agent]
                    owner: {team: platform}
                    subagents: {max_depth: 3, max_children: 4, max_concurrency: 6}
                    compaction: {threshold: 0.6, model: tier:free, keep_turns: 2}
                """);
        assertThat(r.errors()).isEmpty();
        AgentSpec lead = r.config().agents().get("lead");
        assertThat(lead.subagents()).isEqualTo(new AgentSpec.SubAgents(3, 4, 6));
        assertThat(lead.compaction()).isEqualTo(new AgentSpec.Compaction(0.6, "tier:free", 2));
        assertThat(lead.enabledTools()).containsExactly("read", "spawn_agent", "wait_agents");

        List<String> errors = errors("""
                agents:
                  lead:
                    workspace: ws
                    model: m-mid
                    owner: {team: platform}
                    subagents: {max_depth: 0, fan_out: 3}
                    compaction: {threshold: 1.5, model: nope}
                """);
        assertThat(errors).anySatisfy(e -> assertThat(e).contains("agents.lead.subagents.max_depth"))
                .anySatisfy(e -> assertThat(e).contains("fan_out"))
                .anySatisfy(e -> assertThat(e).contains("agents.lead.compaction.threshold").contains("at most 1"))
                .anySatisfy(e -> assertThat(e).contains("agents.lead.compaction.model").contains("nope"));
    }
}
