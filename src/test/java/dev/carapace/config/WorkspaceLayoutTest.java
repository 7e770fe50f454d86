package dev.carapace.config;

import dev.carapace.config.ConfigLoader.Result;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What agents can write (workspaces, policy read_write roots) never overlaps another agent's workspace, nor holds
 * what steers the gateway: the config, agent definitions, policy and secret files. Real files on disk, real symlinks.
 */
class WorkspaceLayoutTest {

    @TempDir
    Path tmp;
    /** The config's folder, reached through a symlink-free real path. */
    Path dir;
    Path file;

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
              research: {}
            tiers: [free, mid, high]
            """;

    @BeforeEach
    void setUp() throws Exception {
        dir = tmp.toRealPath();
        file = dir.resolve("carapace.yaml");
        Files.createDirectories(dir.resolve("ws/main/inner"));
        Files.createDirectories(dir.resolve("ws/other"));
    }

    private List<String> errors(String yaml) throws Exception {
        Files.writeString(file, BASE + yaml);
        Result r = ConfigLoader.check(file, name -> "x");
        if (r.errors().isEmpty()) assertThat(r.config()).isNotNull();
        return r.errors().stream().map(Object::toString).toList();
    }

    private static String agents(String mainWs, String innerWs) {
        return """
                agents:
                  main: {workspace: %s, model: m-mid, owner: {team: platform}}
                  inner: {workspace: %s, model: m-mid, owner: {team: research}}
                """.formatted(mainWs, innerWs);
    }

    @Test
    void aWorkspaceInsideAnotherIsRefusedNamingBothAgentsAndFolders() throws Exception {
        assertThat(errors(agents("ws/main", "ws/main/inner"))).containsExactly(file + ":16:22: agents.inner.workspace: "
                + "the workspace of agent 'inner' (" + dir.resolve("ws/main/inner") + ") lies inside the workspace of "
                + "agent 'main' (" + dir.resolve("ws/main") + "): agents' workspaces must not overlap, or one agent could "
                + "read and rewrite another's files; give each agent a folder of its own");
        assertThat(errors(agents("ws/main/inner", "ws/main"))).singleElement().asString()
                .contains("agents.inner.workspace: the workspace of agent 'inner' (" + dir.resolve("ws/main")
                        + ") contains the workspace of agent 'main' (" + dir.resolve("ws/main/inner") + ")");
        assertThat(errors(agents("ws/main", "ws/main"))).singleElement().asString().contains("is the same folder as");
    }

    @Test
    void overlapIsSeenThroughSymlinksAndDotDot() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("ws/alias"), dir.resolve("ws/main"));
        assertThat(errors(agents("ws/main", "ws/alias/inner"))).singleElement().asString()
                .contains("the workspace of agent 'inner' (" + link.resolve("inner") + ", really "
                        + dir.resolve("ws/main/inner") + ") lies inside the workspace of agent 'main'");
        assertThat(errors(agents("ws/alias", "ws/main"))).singleElement().asString()
                .contains("is the same folder as the workspace of agent 'main' (" + link + ", really " + dir.resolve("ws/main"));
        assertThat(errors(agents("ws/main", "ws/other/../main/inner"))).singleElement().asString()
                .contains("agents.inner.workspace: the workspace of agent 'inner' (" + dir.resolve("ws/main/inner")
                        + ") lies inside the workspace of agent 'main'");
    }

    @Test
    void overlapWithAnAgentDefinedInItsOwnFileIsReportedInThatFile() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("agents/scribe"));
        Files.writeString(folder.resolve("agent.yaml"), "model: m-mid\nworkspace: ../../ws/main/inner\nowner: {team: research}\n");
        assertThat(errors("""
                agents:
                  main: {workspace: ws/main, model: m-mid, owner: {team: platform}}
                """)).containsExactly(folder.resolve("agent.yaml") + ":2:12: workspace: the workspace of agent 'scribe' ("
                + dir.resolve("ws/main/inner") + ") lies inside the workspace of agent 'main' (" + dir.resolve("ws/main")
                + "): agents' workspaces must not overlap, or one agent could read and rewrite another's files; give "
                + "each agent a folder of its own");
    }

    @Test
    void anAgentWhoseWorkspaceHoldsItsOwnDefinitionIsRefused() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("agents/scribe"));
        Files.writeString(folder.resolve("agent.yaml"), "model: m-mid\nworkspace: .\nowner: {team: platform}\n");
        assertThat(errors("")).containsExactly(folder.resolve("agent.yaml") + ":2:12: workspace: The workspace of agent "
                + "'scribe' (" + folder + ") holds the definition of agent 'scribe' (" + folder.resolve("agent.yaml")
                + "), so an agent could rewrite it; keep the config, agent definitions, policy and secret files outside "
                + "every workspace and read_write root");
    }

    @Test
    void anAgentMayNotWorkWhereANewAgentDefinitionWouldBeFound() throws Exception {
        Files.createDirectories(dir.resolve("agents/ghost"));
        assertThat(errors("""
                agents:
                  main: {workspace: agents/ghost, model: m-mid, owner: {team: platform}}
                """)).singleElement().asString().contains("agents.main.workspace: The workspace of agent 'main' ("
                + dir.resolve("agents/ghost") + ") is the folder where a definition of agent 'ghost' would be found");
        // its own folder is fine (the example's layout): a planted definition there clashes with the config's
        Files.createDirectories(dir.resolve("agents/main"));
        assertThat(errors("""
                agents:
                  main: {workspace: agents/main, model: m-mid, owner: {team: platform}}
                """)).isEmpty();
    }

    @Test
    void theConfigFileAndTheAgentsFolderInsideAWorkspaceAreRefused() throws Exception {
        Files.createDirectories(dir.resolve("agents"));
        List<String> errors = errors("""
                agents:
                  main: {workspace: ., model: m-mid, owner: {team: platform}}
                """);
        assertThat(errors).containsExactly(
                file + ":15:21: agents.main.workspace: The workspace of agent 'main' (" + dir + ") holds the config file "
                        + file + ", so an agent could rewrite it; keep the config, agent definitions, policy and secret "
                        + "files outside every workspace and read_write root",
                file + ":15:21: agents.main.workspace: The workspace of agent 'main' (" + dir + ") holds the agents folder "
                        + dir.resolve("agents") + ", so an agent could write new agent definitions there; keep it "
                        + "outside every workspace and read_write root");
    }

    @Test
    void policyAndSecretFilesInsideAWorkspaceAreRefused() throws Exception {
        Files.writeString(dir.resolve("ws/main/strict.yaml"), "version: 1\ntools: {allow: [read]}\n");
        Files.writeString(dir.resolve("ws/main/token"), "s3cr3t-value\n");
        List<String> errors = errors("""
                guard:
                  policies:
                    strict: {file: ws/main/strict.yaml}
                secrets:
                  token: file:%s
                agents:
                  main: {workspace: ws/main, model: m-mid, owner: {team: platform}}
                """.formatted(dir.resolve("ws/main/token")));
        assertThat(errors).hasSize(2).allSatisfy(e -> assertThat(e)
                .startsWith(file + ":20:21: agents.main.workspace: The workspace of agent 'main' (" + dir.resolve("ws/main") + ") holds ")
                .doesNotContain("s3cr3t-value"));
        assertThat(errors).anySatisfy(e -> assertThat(e).contains("holds the file of guard policy 'strict' ("
                + dir.resolve("ws/main/strict.yaml") + ")"));
        assertThat(errors).anySatisfy(e -> assertThat(e).contains("holds the file of secret 'token' ("
                + dir.resolve("ws/main/token") + ")"));
    }

    @Test
    void aPolicyReadWriteRootHoldingTheConfigIsRefusedWithoutAnyAgentUsingIt() throws Exception {
        Files.writeString(dir.resolve("ws/open.yaml"), """
                version: 1
                filesystem_policy:
                  read_write: [%s]
                """.formatted(dir));
        List<String> errors = errors("""
                guard:
                  policies:
                    open: {file: ws/open.yaml}
                """);
        assertThat(errors).anySatisfy(e -> assertThat(e).startsWith(file + ":16:18: guard.policies.open.file: The "
                + "read_write root " + dir + " of guard policy 'open'").contains("holds the config file " + file));
        assertThat(errors).anySatisfy(e -> assertThat(e).contains("holds the file of guard policy 'open'"));
    }

    @Test
    void theDataFolderInsideAWorkspaceIsRefused() throws Exception {
        errors(agents("ws/main", "ws/other"));
        CarapaceConfig config = ConfigLoader.load(file);
        assertThat(WritableRoots.dataDirProblem(config, dir.resolve("ws/other/data"))).isEqualTo("the data folder "
                + dir.resolve("ws/other/data") + " (the SQLite store, its WAL and journal) lies inside the workspace of "
                + "agent 'inner' (" + dir.resolve("ws/other") + "), so an agent could replace or truncate the live "
                + "database; move the data folder (--data or $CARAPACE_DATA) outside every workspace and read_write root");
        // through a symlink that points into the workspace
        Path link = Files.createSymbolicLink(dir.resolve("data-link"), dir.resolve("ws/main"));
        assertThat(WritableRoots.dataDirProblem(config, link.resolve("data"))).contains("workspace of agent 'main'");
        assertThat(WritableRoots.dataDirProblem(config, dir.resolve("data"))).isNull();
    }

    @Test
    void aWorkspaceOrAProtectedFileReachedThroughALinkInAnotherWorkspaceIsRefused() throws Exception {
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Files.createSymbolicLink(dir.resolve("ws/main/link"), elsewhere);
        List<String> errors = errors("""
                agents:
                  main: {workspace: ws/main, model: m-mid, tools: [read], owner: {team: platform}}
                  other: {workspace: ws/main/link, model: m-mid, tools: [read], owner: {team: platform}}
                """);
        assertThat(errors).anySatisfy(e -> assertThat(e).contains("the workspace of agent 'other' (" + dir.resolve(
                "ws/main/link") + ") is reached through the symbolic link " + dir.resolve("ws/main/link")
                + ", which lies in the workspace of agent 'main'"));
        Files.writeString(elsewhere.resolve("p.yaml"), "version: 1\n");
        List<String> policy = errors("""
                guard:
                  policies:
                    p: {file: ws/main/link/p.yaml, agents: [main]}
                agents:
                  main: {workspace: ws/main, model: m-mid, tools: [read], owner: {team: platform}}
                """);
        assertThat(policy).anySatisfy(e -> assertThat(e).contains("The file of guard policy 'p'").contains("is reached "
                + "through the symbolic link " + dir.resolve("ws/main/link") + ", which lies in the workspace of agent "
                + "'main'").contains("an agent could repoint it to a file of its own"));
    }

    @Test
    void aWorkspaceInsideTheDataFolderIsRefused() throws Exception {
        errors(agents("ws/main", "ws/other"));
        CarapaceConfig config = ConfigLoader.load(file);
        assertThat(WritableRoots.dataDirProblem(config, dir.resolve("ws"))).isEqualTo("the workspace of agent 'main' ("
                + dir.resolve("ws/main") + ") lies inside the data folder " + dir.resolve("ws") + ", next to the live "
                + "database and the egress sockets, which agents must never reach; move it out of the data folder");
    }

    @Test
    void anAgentFileInsideAnotherAgentsWorkspaceIsIgnoredWithAWarningNotLoaded() throws Exception {
        Files.createDirectories(dir.resolve("agents/main"));
        Files.writeString(dir.resolve("agents/main/agent.yaml"), "model: m-mid\ntools: [exec]\nowner: {team: research}\n");
        Files.writeString(file, BASE + """
                agents:
                  main: {workspace: agents/main, model: m-mid, tools: [read], owner: {team: platform}}
                """);
        Result r = ConfigLoader.check(file, name -> "x");
        assertThat(r.errors()).isEmpty();
        assertThat(r.config().agents().get("main").tools()).containsExactly("read");
        assertThat(r.config().agents().get("main").owner().team()).isEqualTo("platform");
        assertThat(r.warnings()).anySatisfy(w -> assertThat(w.toString()).contains("ignored "
                + dir.resolve("agents/main/agent.yaml") + ": it lies in the workspace of agent 'main'"));
    }
}
