package dev.carapace.channel;

import dev.carapace.identity.KeyAdmin;
import dev.carapace.identity.Principal;
import dev.carapace.text.Excerpt;

import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Who is speaking: a channel identity bound to a person of the org, from the config ({@code identities:}) or made
 * through the API or a pairing (in the store, shared by every gateway). The config's bindings win: an operator who
 * wrote one in the file cannot be overridden through the API.
 *
 * <p>A bound sender speaks as a member, never as an admin: whatever role the person's keys have, a message on a
 * channel carries no admin power (a mail's From is easy to forge; a binding only says whose budget pays).
 */
public final class Identities {

    private final String org;
    private final Map<String, IdentityBinding> configured;
    private final ChannelStore store;
    private final Pairings pairings;
    private final ChannelAudit audit;
    private final Clock clock;

    private final java.util.function.Function<String, Optional<String>> teamOfUser;

    public Identities(String org, List<IdentityBinding> configured, ChannelStore store, ChannelAudit audit, Clock clock) {
        this(org, configured, store, audit, clock, user -> Optional.empty());
    }

    /**
     * @param teamOfUser the team a user name belongs to (a user name is one person across the org), or empty when no
     *                   key names it yet: a binding may not make a user of one team speak for another
     */
    public Identities(String org, List<IdentityBinding> configured, ChannelStore store, ChannelAudit audit, Clock clock,
                      java.util.function.Function<String, Optional<String>> teamOfUser) {
        this.teamOfUser = teamOfUser;
        this.org = org;
        Map<String, IdentityBinding> m = new LinkedHashMap<>();
        for (IdentityBinding b : configured) m.put(b.sender(), b);
        this.configured = Map.copyOf(m);
        this.store = store;
        this.pairings = new Pairings(store, clock);
        this.audit = audit;
        this.clock = clock;
    }

    /** The person {@code sender} is, or empty when no binding names them. */
    public Optional<Principal> principal(Sender sender) {
        return binding(sender.key()).map(this::principal);
    }

    Principal principal(IdentityBinding b) {
        return new Principal(org, b.team(), b.user(), Principal.Role.MEMBER, null);
    }

    public Optional<IdentityBinding> binding(String senderKey) {
        String key = normalise(senderKey);
        IdentityBinding b = configured.get(key);
        return b != null ? Optional.of(b) : store.binding(key);
    }

    /**
     * An e-mail address is one sender however it is cased ({@code email:Bob@Corp.example} is bob's); only ASCII
     * letters are folded, so no other character becomes one of a bound address's.
     */
    public static String normalise(String senderKey) {
        return senderKey != null && senderKey.regionMatches(true, 0, "email:", 0, 6)
                ? dev.carapace.text.AsciiCase.lower(senderKey) : senderKey;
    }

    /** The config's bindings, then the store's, each sender once. */
    public List<IdentityBinding> list() {
        List<IdentityBinding> all = new ArrayList<>(configured.values());
        for (IdentityBinding b : store.bindings()) if (!configured.containsKey(b.sender())) all.add(b);
        return all;
    }

    /**
     * Binds {@code senderKey} to {@code team} (and {@code user}), by {@code operator}, audited.
     *
     * @throws IllegalArgumentException the config binds it already, or the key is not {@code kind:id}
     */
    public IdentityBinding bind(String senderKey, String team, String user, String operator) {
        IdentityBinding b = store(senderKey, team, user, "api");
        audit.record("-", "bind", b.sender(), null, "bound", "to " + whom(team, user) + " by " + operator);
        return b;
    }

    /**
     * Removes a binding made through the API or a pairing, by {@code operator}, audited; false when there was none.
     *
     * @throws IllegalArgumentException the config binds it (change the file instead)
     */
    public boolean unbind(String senderKey, String operator) {
        senderKey = normalise(senderKey);
        if (configured.containsKey(senderKey)) {
            throw new IllegalArgumentException("sender: '" + senderKey + "' is bound in the config file; change it there");
        }
        boolean removed = store.unbind(senderKey);
        if (removed) audit.record("-", "unbind", senderKey, null, "unbound", "by " + operator);
        return removed;
    }

    /**
     * Confirms a pairing: the code's sender is bound to {@code team} and {@code user}, by {@code confirmer} (an
     * admin naming anyone, or the person themselves with their own key: the caller decides which it allows).
     *
     * @throws IllegalArgumentException the code is unknown, expired or used, the confirmer guessed too often, or the
     *                                  config binds the sender already
     */
    public Pairing pair(String code, String team, String user, String confirmer) {
        Pairing p = pairings.take(code, confirmer);
        store(p.sender(), team, user, "pairing");
        audit.record(p.channel(), "pair", p.sender(), null, "bound", "to " + whom(team, user) + " by " + confirmer);
        return p;
    }

    /** A new pairing code for {@code sender} on {@code channel}; the code itself is returned once. */
    String offer(Sender sender, String channel) { return pairings.offer(sender, channel); }

    /** Pairings waiting for confirmation. */
    public List<Pairing> pairings() { return store.pairings(clock.instant()); }

    private IdentityBinding store(String senderKey, String team, String user, String source) {
        senderKey = normalise(senderKey);
        checkKey(senderKey);
        if (configured.containsKey(senderKey)) {
            throw new IllegalArgumentException("sender: '" + senderKey + "' is bound in the config file; change it there");
        }
        if (user != null && !KeyAdmin.isUserName(user)) {
            throw new IllegalArgumentException("user: expected " + KeyAdmin.USER_FORM + "; got '" + Excerpt.clip(user, 40) + "'");
        }
        String usersTeam = user == null ? null : teamOfUser.apply(user).orElse(null);
        if (usersTeam != null && !usersTeam.equals(team)) {
            throw new IllegalArgumentException("user: '" + user + "' is a user of team " + usersTeam + "; bind the sender to "
                    + "team " + usersTeam + ", or to another user of team " + team);
        }
        IdentityBinding b = new IdentityBinding(senderKey, team, user, source, clock.instant());
        store.bind(b);
        return b;
    }

    private static String whom(String team, String user) { return team + (user == null ? "" : "/" + user); }

    /**
     * A sender's key: a kind, a colon, an id of printable characters without spaces, at most 320 in all; an e-mail id
     * holds an {@code @} and a Telegram id is the user's number (not the {@code @username}, which its owner may
     * change): a key no sender of that kind can ever have is refused, not stored to match nothing.
     */
    public static void checkKey(String key) {
        int colon = key == null ? -1 : key.indexOf(':');
        if (colon < 1 || colon == key.length() - 1 || key.length() > 320) {
            throw new IllegalArgumentException("sender: expected KIND:ID such as email:alice@corp.example or "
                    + "slack:T0123:U0456; got '" + dev.carapace.text.Excerpt.clip(key == null ? "" : key, 60) + "'");
        }
        String kind = key.substring(0, colon), id = key.substring(colon + 1);
        if (kind.equals("telegram") && !id.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("sender: a Telegram sender is its numeric user id (telegram:123456789),"
                    + " not a @username");
        }
        if (kind.equals("email") && id.indexOf('@') < 1) {
            throw new IllegalArgumentException("sender: an e-mail sender is an address (email:alice@corp.example)");
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c <= ' ' || c == 0x7f || Character.isISOControl(c) || dev.carapace.text.Invisible.is(c)) {
                throw new IllegalArgumentException("sender: must not hold spaces, control or invisible characters");
            }
        }
    }
}
