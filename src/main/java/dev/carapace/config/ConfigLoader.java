package dev.carapace.config;

import dev.carapace.agent.AgentSpec;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.config.CarapaceConfig.Alerts;
import dev.carapace.config.CarapaceConfig.Approvals;
import dev.carapace.config.CarapaceConfig.Auth;
import dev.carapace.config.CarapaceConfig.Logging;
import dev.carapace.config.CarapaceConfig.Server;
import dev.carapace.config.CarapaceConfig.Store;
import dev.carapace.config.CarapaceConfig.Team;
import dev.carapace.config.CarapaceConfig.Tools;
import dev.carapace.model.ModelSpec;
import dev.carapace.model.ProviderSpec;
import dev.carapace.model.RoutingPolicy;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.schedule.JobSpec;
import dev.carapace.skill.SkillSettings;
import dev.carapace.yaml.Problem;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.Map;
import java.util.function.Function;

/**
 * Reads the YAML config file into a {@link CarapaceConfig}, checking everything and reporting every problem at
 * once, each with its line, column and key path. See {@code carapace.example.yaml} for the format.
 *
 * <p>{@link #load} is for starting the server: it returns the config or throws. {@link #check} also returns the
 * warnings (an environment variable that is not set, a tier without models), which do not stop loading.
 *
 * <p>This class orchestrates: each section has its reader ({@link SettingsSections}, {@link ProvidersSection},
 * {@link ModelsSection}, {@link GuardSection}, {@link AgentsSection} with {@link HeartbeatSection}, {@link SecretsSection}, {@link PrivacySection},
 * {@link JobsSection}),
 * and {@link WritableLayout} checks what agents can write against the files that steer the gateway.
 */
public final class ConfigLoader {

    /**
     * What {@link #check} found.
     *
     * @param config   the config; null when there are errors
     * @param errors   in file order
     * @param warnings in file order
     */
    public record Result(CarapaceConfig config, List<Problem> errors, List<Problem> warnings) {
        public Result {
            errors = List.copyOf(errors);
            warnings = List.copyOf(warnings);
        }
    }

    private final Problems problems;
    private final ConfigChecks checks;
    /** The config file's directory: what relative paths (agent workspaces) are relative to. */
    private final Path baseDir;
    /** Where agent folders are discovered; null when checking text that has no file. */
    private final Path agentsDir;
    /** The problems of each discovered agent file, reported with the config's own. */
    private final List<Problems> agentFiles = new ArrayList<>();
    /** What agents can write against what steers the gateway, filled in by the sections that set either. */
    private final WritableLayout layout;

    private ConfigLoader(Problems problems, Function<String, String> env, Path baseDir, Path agentsDir, Path configFile) {
        this.problems = problems;
        this.checks = new ConfigChecks(problems, env);
        this.baseDir = baseDir;
        this.agentsDir = agentsDir;
        this.layout = new WritableLayout(problems, configFile, agentsDir);
    }

    // ---- public surface ----------------------------------------------------------------------------------------

    /** Reads and checks {@code file}; throws listing every error. Warnings are not reported: see {@link #check}. */
    public static CarapaceConfig load(Path file) throws ConfigException {
        return configOrThrow(check(file));
    }

    /** Same as {@link #load(Path)}, for YAML text; {@code fileName} is only used in messages. */
    public static CarapaceConfig load(String yamlText, String fileName) throws ConfigException {
        return configOrThrow(check(yamlText, fileName, System::getenv));
    }

    /** Reads and checks {@code file}, looking up environment variables with {@link System#getenv(String)}. */
    public static Result check(Path file) {
        return check(file, System::getenv);
    }

    /**
     * Reads and checks {@code file}.
     *
     * @param env looks up environment variables; only used to warn about variables that are not set
     */
    public static Result check(Path file, Function<String, String> env) {
        String name = file.toString();
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            return fileProblem(name, "file not found");
        } catch (AccessDeniedException e) {
            return fileProblem(name, "cannot read the file: permission denied");
        } catch (MalformedInputException e) {
            return fileProblem(name, "the file is not UTF-8 text");
        } catch (IOException e) {
            return fileProblem(name, "cannot read the file: " + e);
        }
        Path dir = file.toAbsolutePath().getParent();
        return check(text, name, env, dir, dir.resolve(AgentsSection.AGENTS_DIR), file.toAbsolutePath());
    }

    /**
     * Checks YAML text; {@code fileName} is only used in messages. Relative agent workspaces are relative to the
     * current directory, and no {@code agents/} folder is searched (there is no file to search next to).
     */
    public static Result check(String yamlText, String fileName, Function<String, String> env) {
        return check(yamlText, fileName, env, Path.of("").toAbsolutePath(), null, null);
    }

    private static Result check(String yamlText, String fileName, Function<String, String> env, Path baseDir,
                                Path agentsDir, Path configFile) {
        Problems problems = new Problems(fileName);
        Node root = MapReader.parse(yamlText, problems);
        CarapaceConfig config = null;
        ConfigLoader loader = new ConfigLoader(problems, env, baseDir, agentsDir, configFile);
        if (root instanceof MapNode map) {
            config = loader.config(map);
        } else if (root != null) {
            problems.error(root.line(), root.column(), "",
                    "expected settings (key: value lines) at the top level, got " + YamlTree.describe(root));
        }
        List<Problem> errors = new ArrayList<>(problems.errors());
        List<Problem> warnings = new ArrayList<>(problems.warnings());
        for (Problems p : loader.agentFiles) {
            errors.addAll(p.errors());
            warnings.addAll(p.warnings());
        }
        return new Result(errors.isEmpty() ? config : null, errors, warnings);
    }

    private static Result fileProblem(String file, String message) {
        return new Result(null, List.of(new Problem(file, 0, 0, "", message)), List.of());
    }

    private static CarapaceConfig configOrThrow(Result result) throws ConfigException {
        if (!result.errors().isEmpty()) {
            throw new ConfigException(result.errors());
        }
        return result.config();
    }

    // ---- the whole file ----------------------------------------------------------------------------------------

    /** Reads the sections in the order their references need: what an agent names is read before the agents. */
    private CarapaceConfig config(MapNode rootNode) {
        SecretsSection secretsSection = new SecretsSection(problems);
        secretsSection.refuseSecrets(rootNode);
        MapReader root = MapReader.root(rootNode, problems);
        SettingsSections settings = new SettingsSections(checks);
        ModelsSection portfolio = new ModelsSection(checks);
        Server server = settings.server(root.object("server"));
        Store store = settings.store(root.object("store"));
        String org = settings.org(root);
        List<String> tiers = portfolio.tiers(root);
        Map<String, ProviderSpec> providers = new ProvidersSection(checks).providers(root);
        Map<String, ModelSpec> models = portfolio.models(root, tiers, providers);
        Map<String, Team> teams = portfolio.teams(root, tiers, models);
        RoutingPolicy routing = settings.routing(root.object("routing"));
        Auth auth = settings.auth(root.object("auth"));
        Logging logging = settings.logging(root.object("logging"));
        Alerts alerts = settings.alerts(root.object("alerts"));
        Tools tools = settings.tools(root.object("tools"));
        GuardSection guard = new GuardSection(checks, baseDir, layout, agentFiles);
        guard.read(root.object("guard"));
        AgentsSection agentsSection = new AgentsSection(checks, baseDir, agentsDir, guard.policyNames(), layout, agentFiles);
        Map<String, AgentSpec> agents = agentsSection.agents(root, tiers, models, teams, tools);
        Map<String, String> secrets = secretsSection.secrets(root);
        Approvals approvals = settings.approvals(root.object("approvals"));
        PrivacySpec privacy = root.entry("privacy") == null ? null : PrivacySection.read(root.object("privacy"), teams.keySet(),
                agents.keySet(), problems);
        CarapaceConfig.Responses responses = settings.responses(root.object("responses"));
        CarapaceConfig.Scheduler scheduler = settings.scheduler(root.object("scheduler"), secrets.keySet());
        List<JobSpec> jobs = new JobsSection(problems, agentsDir, layout, agentFiles, agents, scheduler.minInterval(),
                Instant.now()).jobs(root);
        SkillSettings skills = SkillsSection.read(root.object("skills"), baseDir, problems);
        CarapaceConfig.Voice voice = portfolio.voice(root.object("voice"), models);
        CarapaceConfig.Channels channels = new CarapaceConfig.Channels(ChannelsSection.channels(root, agents, tools),
                ChannelsSection.identities(root, teams.keySet(), Instant.now()));
        CarapaceConfig.Guard checkedGuard = guard.check(agents, teams, channels.channels().stream()
                .map(ChannelSpec::id).collect(Collectors.toSet()));
        layout.check(secrets);   // after the sections that name what steers the gateway (agent and job files)
        root.finish();
        portfolio.warnAboutEmptyTiers(rootNode, tiers, models);
        return new CarapaceConfig(server, store, org, tiers, providers, models, teams, routing, auth, logging, alerts, agents,
                tools, secrets, checkedGuard, approvals, privacy, responses, scheduler, jobs, agentsSection.heartbeats(),
                skills, channels, voice);
    }
}
