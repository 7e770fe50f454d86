package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.identity.KeyAdmin;
import dev.carapace.identity.Principal;
import dev.carapace.server.json.KeyJson;
import dev.carapace.store.ApiKeys.StoredKey;
import dev.carapace.store.Store;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.time.Clock;

import static dev.carapace.server.cli.Main.JSON;

/** {@code carapace keys create|list|revoke}: the API keys, straight in the store. */
@Command(name = "keys", mixinStandardHelpOptions = true, description = "Create, list and revoke API keys.",
        subcommands = {KeysCommand.Create.class, KeysCommand.List.class, KeysCommand.Revoke.class})
final class KeysCommand extends GroupCommand {

    abstract static class KeyCommand extends StoreCommand {

        @Override
        int run(CarapaceConfig config, Store store) throws Exception {
            storeName = common.storeName(config);
            return run(new KeyAdmin(store.apiKeys(), config.teams().keySet(), Clock.systemUTC()), out());
        }

        /** Where the keys are, for the output. */
        String storeName;

        abstract int run(KeyAdmin admin, PrintWriter out) throws Exception;
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create a key for a user of a team. The key is printed once; only its hash is stored.")
    static final class Create extends KeyCommand {
        @Option(names = "--user", required = true) String user;
        @Option(names = "--team", required = true) String team;
        @Option(names = "--role", defaultValue = "member", description = "admin or member (default: member).") String role;
        @Option(names = "--name", description = "A label for the key.") String name;
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(KeyAdmin admin, PrintWriter out) throws Exception {
            Principal.Role r = switch (role) {
                case "admin" -> Principal.Role.ADMIN;
                case "member" -> Principal.Role.MEMBER;
                default -> throw usageError("--role: expected admin or member; got '" + role + "'");
            };
            KeyAdmin.Created c = admin.create(user, team, r, name);
            if (json) {
                ObjectNode n = KeyJson.key(c.key()).put("key", c.secret());
                out.println(JSON.writeValueAsString(n));
            } else {
                out.println(c.secret());
                out.println("(prefix " + c.key().prefix() + ", user " + user + ", team " + team + ", " + role
                        + ". Store the key now: it is not shown again.)");
                out.println("(written to " + storeName + ")");
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List keys by prefix (never the secrets).")
    static final class List extends KeyCommand {
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(KeyAdmin admin, PrintWriter out) throws Exception {
            java.util.List<StoredKey> keys = admin.list();
            if (json) {
                ArrayNode a = JSON.createArrayNode();
                keys.forEach(k -> a.add(KeyJson.key(k)));
                out.println(JSON.writeValueAsString(a));
                return 0;
            }
            out.printf("%-14s %-20s %-14s %-7s %-24s %s%n", "PREFIX", "USER", "TEAM", "ROLE", "CREATED", "STATUS");
            for (StoredKey k : keys) {
                out.printf("%-14s %-20s %-14s %-7s %-24s %s%n", k.prefix(), k.user(), k.team(), k.role(), k.createdAt(),
                        k.revokedAt() == null ? "active" : "revoked " + k.revokedAt());
            }
            return 0;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a key by its prefix.")
    static final class Revoke extends KeyCommand {
        @Parameters(paramLabel = "PREFIX") String prefix;

        @Override
        int run(KeyAdmin admin, PrintWriter out) {
            if (!admin.revoke(prefix)) {
                return fail("no active key has prefix '" + prefix + "'");
            }
            out.println("revoked " + prefix);
            return 0;
        }
    }
}
