package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.carapace.channel.AgentRoute;
import dev.carapace.channel.Channel;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.IdentityBinding;
import dev.carapace.channel.Identities;
import dev.carapace.channel.Pairing;
import dev.carapace.channel.StoredMessage;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.guard.audit.AuditLog;
import dev.carapace.server.Carapace;
import dev.carapace.server.adapter.StoreChannels;
import dev.carapace.server.json.ChannelsJson;
import dev.carapace.store.Store;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.Locale;

import static dev.carapace.server.cli.Main.JSON;
import static dev.carapace.text.Excerpt.clip;

/**
 * {@code carapace channels list|test|pair|bindings|messages}: the channels of the config, a connection test of one,
 * and, straight in the store as an admin (whoever can open the store binds anyone), pairing, identity bindings and
 * the inbox. Approving a message that waits for an operator starts a run, which only a running gateway can: that is
 * {@code POST /api/channels/messages/ID/approve}.
 */
@Command(name = "channels", mixinStandardHelpOptions = true,
        description = "List and test channels; pair and bind the people who write on them; see their messages.",
        subcommands = {ChannelsCommand.List.class, ChannelsCommand.Test.class, ChannelsCommand.Pair.class,
                ChannelsCommand.Bindings.class, ChannelsCommand.Messages.class})
final class ChannelsCommand extends GroupCommand {

    private static String operator() { return "cli:" + System.getProperty("user.name", "unknown"); }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "The configured channels and their routes.")
    static final class List extends ConfigViewCommand {
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(CarapaceConfig config, PrintWriter out) throws Exception {
            if (json) {
                ArrayNode a = JSON.createArrayNode();
                for (ChannelSpec s : config.channels().channels()) a.add(ChannelsJson.channel(s));
                out.println(JSON.writeValueAsString(a));
                return 0;
            }
            if (config.channels().channels().isEmpty()) {
                out.println("No channels are configured (add them under channels: in the config).");
                return 0;
            }
            for (ChannelSpec s : config.channels().channels()) {
                out.printf("%-20s %-9s unknown senders: %s%n", s.id(), s.kind(),
                        s.unknownSenders().name().toLowerCase(Locale.ROOT));
                for (AgentRoute r : s.routes()) {
                    out.printf("    %-30s -> %s (%s)%n", r.address(), r.agent(), r.access().name().toLowerCase(Locale.ROOT));
                }
            }
            return 0;
        }
    }

    @Command(name = "test", mixinStandardHelpOptions = true,
            description = {"Checks that a channel reaches its service with its credentials, sending nothing.",
                    "Example: carapace channels test support-mail"})
    static final class Test extends StoreCommand {
        @Parameters(paramLabel = "CHANNEL", description = "The channel's name in the config.") String id;

        @Override
        int run(CarapaceConfig config, Store store) throws Exception {
            ChannelSpec spec = config.channels().channels().stream().filter(s -> s.id().equals(id)).findFirst().orElse(null);
            if (spec == null) {
                return fail("no channel '" + clip(id, 40) + "' (channels: " + (config.channels().channels().isEmpty()
                        ? "none are configured" : String.join(", ", config.channels().channels().stream()
                        .map(ChannelSpec::id).toList())) + ")");
            }
            try (Channel c = Carapace.channel(config, spec, store, System::getenv)) {
                out().println(spec.id() + " (" + spec.kind() + "): " + c.test());
                return 0;
            } catch (ChannelException e) {
                return fail(spec.id() + " (" + spec.kind() + "): " + e.getMessage());
            }
        }
    }

    /** A command on the identities, with the audit log open for its decisions. */
    abstract static class OnIdentities extends StoreCommand {
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(CarapaceConfig config, Store store) throws Exception {
            try (AuditLog audit = new AuditLog(store.auditRecords())) {
                try {
                    return run(config, Carapace.channelIdentities(config, store, audit), out());
                } catch (IllegalArgumentException e) {
                    return fail(e.getMessage());
                }
            }
        }

        abstract int run(CarapaceConfig config, Identities identities, PrintWriter out) throws Exception;

        String team(CarapaceConfig config, String team) {
            if (!config.teams().isEmpty() && !config.teams().containsKey(team)) {
                throw usageError("no team '" + clip(team, 60) + "' (teams: " + String.join(", ", config.teams().keySet()) + ")");
            }
            return team;
        }

        void print(PrintWriter out, IdentityBinding b) throws Exception {
            if (json) {
                out.println(JSON.writeValueAsString(ChannelsJson.binding(b)));
            } else {
                out.printf("%-45s %s%s (%s)%n", b.sender(), b.team(), b.user() == null ? "" : "/" + b.user(), b.source());
            }
        }
    }

    @Command(name = "pair", mixinStandardHelpOptions = true,
            description = {"Confirms the pairing code an unknown sender was sent, binding them to a team and user.",
                    "Example: carapace channels pair 7QK2M9XD4T --team platform --user alice",
                    "Without CODE: the pairings waiting for confirmation."})
    static final class Pair extends OnIdentities {
        @Parameters(paramLabel = "CODE", arity = "0..1", description = "The code the sender was sent.") String code;
        @Option(names = "--team", paramLabel = "NAME", description = "The person's team.") String team;
        @Option(names = "--user", paramLabel = "NAME", description = "The person (absent: the team's shared identity).")
        String user;

        @Override
        int run(CarapaceConfig config, Identities identities, PrintWriter out) throws Exception {
            if (code == null) {
                java.util.List<Pairing> waiting = identities.pairings();
                if (waiting.isEmpty()) out.println("No pairing is waiting.");
                for (Pairing p : waiting) {
                    out.printf("%-45s %-20s via %s, until %s%n", p.sender(), p.name() == null ? "" : clip(p.name(), 20),
                            p.channel(), p.expiresAt());
                }
                return 0;
            }
            if (team == null) throw usageError("--team is required: the team the sender is bound to");
            Pairing p = identities.pair(code, team(config, team), user, operator());
            print(out, identities.binding(p.sender()).orElseThrow());
            return 0;
        }
    }

    @Command(name = "bindings", mixinStandardHelpOptions = true,
            description = {"Lists, adds or removes identity bindings (who a channel sender is).",
                    "Examples: carapace channels bindings",
                    "          carapace channels bindings add slack:U024BE7LH --team platform --user alice",
                    "          carapace channels bindings rm slack:U024BE7LH"})
    static final class Bindings extends OnIdentities {
        @Parameters(index = "0", arity = "0..1", paramLabel = "list|add|rm", description = "What to do (default: list).")
        String action;
        @Parameters(index = "1", arity = "0..1", paramLabel = "SENDER", description = "KIND:ID, e.g. email:bob@corp.example")
        String sender;
        @Option(names = "--team", paramLabel = "NAME", description = "The person's team (add).") String team;
        @Option(names = "--user", paramLabel = "NAME", description = "The person (add).") String user;

        @Override
        int run(CarapaceConfig config, Identities identities, PrintWriter out) throws Exception {
            switch (action == null ? "list" : action) {
                case "list" -> {
                    if (json) {
                        ArrayNode a = JSON.createArrayNode();
                        for (IdentityBinding b : identities.list()) a.add(ChannelsJson.binding(b));
                        out.println(JSON.writeValueAsString(a));
                    } else {
                        if (identities.list().isEmpty()) out.println("No identity is bound.");
                        for (IdentityBinding b : identities.list()) print(out, b);
                    }
                }
                case "add" -> {
                    if (sender == null || team == null) throw usageError("add needs SENDER and --team");
                    CarapaceConfig.Channels.checkSender(sender);
                    print(out, identities.bind(sender, team(config, team), user, operator()));
                }
                case "rm" -> {
                    if (sender == null) throw usageError("rm needs SENDER");
                    if (!identities.unbind(sender, operator())) {
                        return fail("no binding for '" + clip(sender, 80) + "' made through the API or a pairing");
                    }
                    out.println("removed " + sender);
                }
                default -> throw usageError("unknown action '" + clip(action, 20) + "' (expected list, add or rm)");
            }
            return 0;
        }
    }

    @Command(name = "messages", mixinStandardHelpOptions = true,
            description = "The newest messages channels received, and what became of each.")
    static final class Messages extends StoreCommand {
        @Option(names = "--channel", paramLabel = "ID", description = "One channel's only.") String channel;
        @Option(names = "--limit", paramLabel = "N", defaultValue = "20", description = "How many (default 20).") int limit;
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(CarapaceConfig config, Store store) throws Exception {
            if (limit < 1 || limit > 500) throw usageError("--limit: 1 to 500");
            java.util.List<StoredMessage> ms = new StoreChannels(store.channelRows()).recent(channel, limit);
            PrintWriter out = out();
            if (json) {
                ArrayNode a = JSON.createArrayNode();
                for (StoredMessage m : ms) a.add(ChannelsJson.message(m));
                out.println(JSON.writeValueAsString(a));
                return 0;
            }
            if (ms.isEmpty()) out.println("No messages.");
            for (StoredMessage m : ms) {
                out.printf("%s  %-12s %-17s %-40s %s%n", m.message().receivedAt(), m.message().channel(), m.state().label(),
                        clip(m.message().sender().key(), 40), m.detail() == null ? "" : clip(m.detail(), 80));
            }
            return 0;
        }
    }
}
