package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.guard.audit.AuditLog;
import dev.carapace.server.SkillWiring;
import dev.carapace.server.json.SkillsJson;
import dev.carapace.skill.repo.Caller;
import dev.carapace.skill.repo.LocalSkills;
import dev.carapace.skill.repo.Scope;
import dev.carapace.skill.repo.SkillRepoException;
import dev.carapace.skill.repo.SkillRepository;
import dev.carapace.skill.repo.SkillRepository.Version;
import dev.carapace.skill.repo.VersionStore;
import dev.carapace.skill.scan.Finding;
import dev.carapace.store.Store;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

import static dev.carapace.server.cli.Main.JSON;

/**
 * {@code carapace skills publish|import|list|show|install|pin|remove|review}: the org skill repository, straight in
 * the store (a running gateway serves what it changes at its agents' next turn). The command line acts as an admin
 * named after the OS user ({@code cli:alice}); each decision goes to the audit chain like the API's.
 */
@Command(name = "skills", mixinStandardHelpOptions = true,
        description = "Publish, review, install, pin and remove skills of the org's shared repository.",
        subcommands = {SkillsCommand.Publish.class, SkillsCommand.Import.class, SkillsCommand.List.class,
                SkillsCommand.Show.class, SkillsCommand.Install.class, SkillsCommand.Pin.class,
                SkillsCommand.Remove.class, SkillsCommand.Review.class})
final class SkillsCommand extends GroupCommand {

    /** A command on the repository over the config's store, with the audit log open for its decisions. */
    abstract static class RepoCommand extends StoreCommand {
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(CarapaceConfig config, Store store) throws Exception {
            try (AuditLog audit = new AuditLog(store.auditRecords())) {
                SkillRepository repo = SkillWiring.repository(config, store, audit, Clock.systemUTC());
                return run(repo, new Caller("cli:" + System.getProperty("user.name", "unknown"), null, true), out());
            }
        }

        abstract int run(SkillRepository repo, Caller cli, PrintWriter out) throws Exception;

        void print(PrintWriter out, com.fasterxml.jackson.databind.JsonNode node) throws Exception {
            out.println(JSON.writeValueAsString(node));
        }
    }

    /** {@code NAME} or {@code NAME@HASH}. */
    record Ref(String name, String hash) {
        static Ref of(String text) {
            int at = text.indexOf('@');
            return at < 0 ? new Ref(text, null) : new Ref(text.substring(0, at), text.substring(at + 1));
        }
    }

    @Command(name = "publish", mixinStandardHelpOptions = true,
            description = "Publish a skill from its folder or a .zip/.tar.gz: scanned, stored by content hash, approved "
                    + "by policy when clean, else waiting for an admin's review.")
    static final class Publish extends RepoCommand {
        @Parameters(paramLabel = "PATH", description = "The skill's folder (holding SKILL.md) or an archive of it.") Path path;
        @Option(names = "--name", description = "The name to publish under (must match the SKILL.md's).") String name;

        @Override
        int run(SkillRepository repo, Caller cli, PrintWriter out) throws Exception {
            SkillRepository.Published p = repo.publish(LocalSkills.one(path), name, cli);
            if (json) print(out, SkillsJson.version(p.version(), true).put("created", p.created()));
            else {
                out.println((p.created() ? "published " : "already published ") + p.version().name() + "@" + p.version().hash()
                        + ": " + p.version().state().label());
                findings(out, p.version().findings());
            }
            return 0;
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true,
            description = "Publish every skill of an OpenClaw skills folder (each sub-folder with a SKILL.md) or archive.")
    static final class Import extends RepoCommand {
        @Parameters(paramLabel = "PATH", description = "A folder of skill folders, or a .zip/.tar.gz of them.") Path path;

        @Override
        int run(SkillRepository repo, Caller cli, PrintWriter out) throws Exception {
            var results = repo.importAll(LocalSkills.many(path), cli);
            ArrayNode a = JSON.createArrayNode();
            int failed = 0;
            for (var r : results) {
                var n = a.addObject().put("folder", r.getKey());
                if (r.getValue() instanceof SkillRepository.Published p) {
                    n.put("created", p.created()).set("version", SkillsJson.version(p.version(), false));
                    if (!json) out.printf("%-32s %s@%s %s%s%n", r.getKey(), p.version().name(), p.version().hash().substring(0, 12),
                            p.version().state().label(), p.version().findings().isEmpty() ? "" : " (" + p.version().findings().size() + " findings)");
                } else if (r.getValue() instanceof SkillRepoException e) {
                    failed++;
                    n.put("error", e.getMessage());
                    if (!json) out.printf("%-32s error: %s%n", r.getKey(), e.getMessage());
                }
            }
            if (json) print(out, a);
            return failed == 0 ? 0 : 1;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the versions and the installs.")
    static final class List extends RepoCommand {
        @Option(names = "--scope", description = "Only the installs at this scope (org, team:NAME, agent:NAME).") String scope;

        @Override
        int run(SkillRepository repo, Caller cli, PrintWriter out) throws Exception {
            java.util.List<Version> versions = repo.versions(null);
            java.util.List<VersionStore.Install> installs = repo.installs(scope == null ? null : Scope.parse(scope));
            if (json) {
                var n = JSON.createObjectNode();
                versions.forEach(v -> n.withArray("versions").add(SkillsJson.version(v, false)));
                n.putArray("installs");
                installs.forEach(i -> n.withArray("installs").add(SkillsJson.install(i)));
                print(out, n);
                return 0;
            }
            if (scope == null) {
                String row = "%-28s %-14s %-9s %-9s %-20s %s%n";
                out.printf(row, "SKILL", "HASH", "STATE", "FINDINGS", "PUBLISHER", "PUBLISHED");
                for (Version v : versions) {
                    out.printf(row, v.name(), v.hash().substring(0, 12), v.state().label(), v.findings().size()
                            + (v.stored().blocking() ? "!" : ""), v.stored().publisher(), v.stored().publishedAt());
                }
                out.println();
            }
            String row = "%-20s %-28s %-14s %s%n";
            out.printf(row, "SCOPE", "SKILL", "HASH", "INSTALLED BY");
            for (VersionStore.Install i : installs) out.printf(row, i.scope(), i.name(), i.hash().substring(0, 12), i.installedBy() + " at " + i.installedAt());
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show a version: review, findings, files.")
    static final class Show extends RepoCommand {
        @Parameters(paramLabel = "NAME[@HASH]", description = "The skill, and a version's hash or its first 8+ digits (default: newest).") String ref;
        @Option(names = "--file", paramLabel = "PATH",
                description = "Print this file of the version, as stored, hidden characters written as \\uXXXX.") String file;

        @Override
        int run(SkillRepository repo, Caller cli, PrintWriter out) throws Exception {
            Ref r = Ref.of(ref);
            Version v = repo.show(r.name(), r.hash());
            if (file != null) {
                var f = SkillsJson.file(v, file, repo.file(v.name(), v.hash(), file));
                if (json) print(out, f);
                else if (f.path("binary").asBoolean()) out.printf("%s: not text (%d bytes); not shown%n", file, f.path("bytes").asInt());
                else out.print(f.path("text").asText());
                return 0;
            }
            if (json) {
                print(out, SkillsJson.version(v, true));
                return 0;
            }
            var s = v.stored();
            String row = "%-14s %s%n";
            out.printf(row, "skill", s.name() + "@" + s.hash());
            out.printf(row, "state", s.state().label() + (s.reviewer() == null ? "" : " by " + s.reviewer() + " at " + s.decidedAt())
                    + (s.note() == null ? "" : " (" + s.note() + ")"));
            out.printf(row, "published", s.publishedAt() + " by " + s.publisher());
            out.printf(row, "summary", s.summary());
            out.printf(row, "files", s.fileCount() + " (" + s.totalBytes() + " bytes)");
            if (s.files() != null) s.files().forEach((p, b) -> out.printf("  %-40s %d bytes%n", p, b.length));
            findings(out, v.findings());
            return 0;
        }
    }

    abstract static class ScopedCommand extends RepoCommand {
        @Option(names = "--scope", required = true, description = "org, team:NAME or agent:NAME.") String scope;
    }

    @Command(name = "install", mixinStandardHelpOptions = true,
            description = "Install an approved version at a scope (default: the newest approved).")
    static final class Install extends ScopedCommand {
        @Parameters(paramLabel = "NAME[@HASH]") String ref;

        @Override
        int run(SkillRepository repo, Caller cli, PrintWriter out) throws Exception {
            Ref r = Ref.of(ref);
            return done(out, repo.install(r.name(), r.hash(), Scope.parse(scope), cli), "installed");
        }
    }

    @Command(name = "pin", mixinStandardHelpOptions = true, description = "Move an install to another approved version.")
    static final class Pin extends ScopedCommand {
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "HASH") String hash;

        @Override
        int run(SkillRepository repo, Caller cli, PrintWriter out) throws Exception {
            return done(out, repo.pin(name, hash, Scope.parse(scope), cli), "pinned");
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, description = "Uninstall a skill at a scope.")
    static final class Remove extends ScopedCommand {
        @Parameters(paramLabel = "NAME") String name;

        @Override
        int run(SkillRepository repo, Caller cli, PrintWriter out) throws Exception {
            repo.remove(name, Scope.parse(scope), cli);
            if (json) print(out, JSON.createObjectNode().put("scope", scope).put("name", name).put("removed", true));
            else out.println("removed " + name + " at " + scope);
            return 0;
        }
    }

    @Command(name = "review", mixinStandardHelpOptions = true, description = "Approve or reject a version.")
    static final class Review extends RepoCommand {
        @Parameters(paramLabel = "NAME@HASH") String ref;
        @Option(names = "--approve", description = "Approve it.") boolean approve;
        @Option(names = "--reject", description = "Reject it.") boolean reject;
        @Option(names = "--note", description = "Why, for the record.") String note;

        @Override
        int run(SkillRepository repo, Caller cli, PrintWriter out) throws Exception {
            if (approve == reject) throw usageError("give exactly one of --approve or --reject");
            Ref r = Ref.of(ref);
            if (r.hash() == null) throw usageError("name the version: NAME@HASH (see 'carapace skills list')");
            Version v = repo.review(r.name(), r.hash(), approve, note, cli);
            if (json) print(out, SkillsJson.version(v, false));
            else out.println(v.name() + "@" + v.hash() + " is " + v.state().label());
            return 0;
        }
    }

    private static int done(PrintWriter out, VersionStore.Install i, String what) {
        out.println(what + " " + i.name() + "@" + i.hash() + " at " + i.scope());
        return 0;
    }

    private static void findings(PrintWriter out, java.util.List<Finding> findings) {
        if (findings.isEmpty()) {
            out.println("no findings");
            return;
        }
        for (Finding f : findings) {
            out.printf("  %-8s %-18s %s:%d  %s%n           %s%n", f.severity().label(), f.rule(), f.file(), f.line(), f.excerpt(), f.meaning());
        }
    }
}
