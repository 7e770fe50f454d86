package dev.carapace.config;

import dev.carapace.agent.AgentSpec;
import dev.carapace.channel.Access;
import dev.carapace.channel.AgentRoute;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.IdentityBinding;
import dev.carapace.channel.Identities;
import dev.carapace.channel.KindSettings;
import dev.carapace.channel.UnknownSenders;
import dev.carapace.channel.webhook.WebhookSettings;
import dev.carapace.text.Excerpt;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.ListNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.regex.Pattern;

/**
 * Reads {@code channels:} (one entry per channel: its {@code kind}, which agent answers which address and whether it
 * may, what unknown senders get, the limits on files, and the kind's own block named after the kind) and
 * {@code identities:} (channel identities bound to people: {@code {sender: KIND:ID, team, user}}).
 *
 * <pre>
 * channels:
 *   support-mail:
 *     kind: email
 *     agent: helpdesk                  # short for routes: [{address: "*", agent: helpdesk}]
 *     routes:                          # first match wins; access: allow (default) | deny | ask
 *       - {address: billing@corp.example, agent: billing, access: ask}
 *     unknown_senders: pair            # pair (default) | refuse | ignore
 *     max_attachment_bytes: 10mb
 *     attachment_types: [text/*, image/*, audio/*, application/pdf]
 *     email: {...}                     # the kind's own settings
 * </pre>
 */
final class ChannelsSection {

    /** A channel's id: it names the channel in sessions, logs and the API. */
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,39}");
    private static final Pattern MEDIA_TYPE = Pattern.compile("(\\*/\\*|[a-z0-9][a-z0-9.+-]*/(\\*|[a-z0-9][a-z0-9.+-]*))");

    /**
     * Each kind, and the reader of its own block ({@code email:}, {@code slack:}...): a kind is added here with its
     * section.
     */
    private static final Map<String, BiFunction<MapReader, String, KindSettings>> KINDS = kinds();

    private static final Map<String, Access> ACCESS = choices(Access.values());
    private static final Map<String, UnknownSenders> UNKNOWN = choices(UnknownSenders.values());

    private ChannelsSection() {}

    private static Map<String, BiFunction<MapReader, String, KindSettings>> kinds() {
        Map<String, BiFunction<MapReader, String, KindSettings>> m = new LinkedHashMap<>();
        m.put("email", EmailSection::read);
        m.put("slack", SlackSection::read);
        m.put("telegram", TelegramSection::read);
        m.put("webhook", WebhookSection::read);
        return java.util.Collections.unmodifiableMap(m);
    }

    /**
     * Checks a binding's sender as a person wrote it: its form ({@link Identities#checkKey}, on the key as
     * {@link Identities#normalise} folds it), and that its kind is one a channel of this build has ({@code slak:U1}
     * could never match). For the config file, and through {@link CarapaceConfig.Channels#checkSender} the API and the
     * CLI; the hub's own senders need no such check, and its SPI takes kinds of other builds (a test's, say).
     *
     * @throws IllegalArgumentException saying what is wrong, and for a kind, which there are
     */
    static void checkSender(String senderKey) {
        String key = Identities.normalise(senderKey);
        Identities.checkKey(key);
        String kind = key.substring(0, key.indexOf(':'));
        if (!KINDS.containsKey(kind)) {
            throw new IllegalArgumentException("sender: no channel kind '" + Excerpt.clip(kind, 40)
                    + "' (kinds: " + String.join(", ", KINDS.keySet()) + ")");
        }
    }

    private static <E extends Enum<E>> Map<String, E> choices(E[] values) {
        Map<String, E> m = new LinkedHashMap<>();
        for (E e : values) m.put(e.name().toLowerCase(java.util.Locale.ROOT), e);
        return java.util.Collections.unmodifiableMap(m);
    }

    /** The channels, in the file's order. */
    static List<ChannelSpec> channels(MapReader root, Map<String, AgentSpec> agents, CarapaceConfig.Tools tools) {
        List<ChannelSpec> out = new ArrayList<>();
        for (Entry e : root.entries("channels")) {
            String path = root.pathOf("channels") + "." + e.key();
            MapReader r = MapReader.of(e.value(), path, e.line(), e.column(), root.problems());
            if (!ID.matcher(e.key()).matches()) {
                r.errorHere("a channel's name is 1-40 lower-case letters, digits, '_' and '-', starting with a letter "
                        + "or digit; got '" + Excerpt.clip(e.key(), 60) + "'");
            }
            String kind = r.requiredChoice("kind", kindWords());
            List<AgentRoute> routes = routes(r, agents);
            UnknownSenders unknown = r.choice("unknown_senders", UNKNOWN, UnknownSenders.PAIR);
            long maxBytes = r.size("max_attachment_bytes", 1, 100L << 20, ChannelSpec.DEFAULT_MAX_ATTACHMENT_BYTES);
            List<String> types = mediaTypes(r);
            KindSettings settings = null;
            for (String k : KINDS.keySet()) {
                if (!k.equals(kind) && r.entry(k) != null) {
                    r.error(r.entry(k).value(), k, "this channel's kind is " + kind + "; a '" + k + "' block belongs to a "
                            + "channel of kind " + k);
                }
            }
            if (kind != null) settings = KINDS.get(kind).apply(r.requiredObject(kind, "the " + kind + " settings"), e.key());
            if (settings instanceof WebhookSettings w && (w.deliverTo() != null || !w.replyToPrefixes().isEmpty())
                    && tools.webFetch() != CarapaceConfig.Tools.WebFetch.PROXY && tools.exec() != CarapaceConfig.Tools.Exec.BWRAP) {
                // Without the proxy every answer would be given up on its first attempt while the message reads as answered.
                r.error(r.entry(kind).value(), kind, "answers are POSTed (to deliver_to or a message's reply_to) through the "
                        + "egress proxy, which runs only with 'tools: {web_fetch: proxy}' or 'tools: {exec: bwrap}'");
            }
            r.finish();
            if (kind != null && settings != null) {
                out.add(new ChannelSpec(e.key(), kind, routes, unknown, maxBytes, types, settings));
            }
        }
        return out;
    }

    private static Map<String, String> kindWords() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String k : KINDS.keySet()) m.put(k, k);
        return m;
    }

    private static List<AgentRoute> routes(MapReader r, Map<String, AgentSpec> agents) {
        List<AgentRoute> routes = new ArrayList<>();
        ListNode list = r.list("routes", "a list of {address, agent, access}");
        if (list != null) {
            int i = 0;
            for (Node n : list.items()) {
                MapReader item = MapReader.of(n, r.pathOf("routes") + "[" + i++ + "]", n.line(), n.column(), r.problems());
                String address = item.requiredString("address", "the address, bot, chat or path (* for any)");
                String agent = agent(item, agents);
                Access access = item.choice("access", ACCESS, Access.ALLOW);
                item.finish();
                if (address != null && agent != null) routes.add(new AgentRoute(address, agent, access));
            }
        }
        Entry single = r.entry("agent");
        if (single != null) {
            String agent = agent(r, agents);
            Access access = r.choice("access", ACCESS, Access.ALLOW);
            if (agent != null) routes.add(new AgentRoute("*", agent, access));
        } else if (r.entry("access") != null) {
            r.error(r.entry("access").value(), "access", "goes with 'agent' (or inside each of 'routes')");
        }
        if (routes.isEmpty() && list == null && single == null) {
            r.errorHere("a channel names the agent that answers it: 'agent: ID' or 'routes: [{address, agent}]'");
        }
        return routes;
    }

    private static String agent(MapReader r, Map<String, AgentSpec> agents) {
        Scalar s = r.requiredScalar("agent", "an agent's id");
        if (s == null) return null;
        if (!agents.containsKey(s.text())) {
            r.error(s, "agent", "no agent '" + Excerpt.clip(s.text(), 60) + "' (agents: "
                    + (agents.isEmpty() ? "none" : String.join(", ", agents.keySet())) + ")");
            return null;
        }
        return s.text();
    }

    private static List<String> mediaTypes(MapReader r) {
        List<Scalar> list = r.scalars("attachment_types", "a list of media types", "a media type such as image/* or application/pdf");
        if (list == null) return ChannelSpec.DEFAULT_ATTACHMENT_TYPES;
        List<String> types = new ArrayList<>();
        for (Scalar s : list) {
            String t = s.text().toLowerCase(java.util.Locale.ROOT);
            if (!MEDIA_TYPE.matcher(t).matches()) {
                r.errorAt(s, r.pathOf("attachment_types"), "not a media type: " + YamlTree.describe(s)
                        + " (expected TYPE/SUBTYPE, TYPE/* or */*)");
            } else {
                types.add(t);
            }
        }
        return types;
    }

    /** The {@code identities:} list. */
    static List<IdentityBinding> identities(MapReader root, Set<String> teams, Instant now) {
        List<IdentityBinding> out = new ArrayList<>();
        ListNode list = root.list("identities", "a list of {sender, team, user}");
        if (list == null) return out;
        Set<String> seen = new HashSet<>();
        int i = 0;
        for (Node n : list.items()) {
            String path = root.pathOf("identities") + "[" + i++ + "]";
            MapReader r = MapReader.of(n, path, n.line(), n.column(), root.problems());
            Scalar sender = r.requiredScalar("sender", "KIND:ID, such as email:alice@corp.example");
            String team = r.requiredString("team", "the person's team");
            String user = r.string("user", "the person (absent: the team's shared identity)", null);
            r.finish();
            if (sender == null || team == null) continue;
            String key = Identities.normalise(sender.text());
            try {
                checkSender(key);
            } catch (IllegalArgumentException ex) {
                r.error(sender, "sender", ex.getMessage().substring("sender: ".length()));
                continue;
            }
            if (!teams.isEmpty() && !teams.contains(team)) {
                r.error(n, "team", "no team '" + Excerpt.clip(team, 60) + "' (teams: "
                        + String.join(", ", teams) + ")");
                continue;
            }
            if (!seen.add(key)) {
                r.error(sender, "sender", "'" + key + "' is bound twice");
                continue;
            }
            out.add(new IdentityBinding(key, team, user, "config", now));
        }
        return out;
    }
}
