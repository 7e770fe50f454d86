package dev.carapace.channel;

import dev.carapace.identity.Principal;

import java.time.Instant;
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

    public Identities(String org, List<IdentityBinding> configured, ChannelStore store) {
        this.org = org;
        Map<String, IdentityBinding> m = new LinkedHashMap<>();
        for (IdentityBinding b : configured) m.put(b.sender(), b);
        this.configured = Map.copyOf(m);
        this.store = store;
    }

    /** The person {@code sender} is, or empty when no binding names them. */
    public Optional<Principal> principal(Sender sender) {
        return binding(sender.key()).map(this::principal);
    }

    Principal principal(IdentityBinding b) {
        return new Principal(org, b.team(), b.user(), Principal.Role.MEMBER, null);
    }

    public Optional<IdentityBinding> binding(String senderKey) {
        IdentityBinding b = configured.get(senderKey);
        return b != null ? Optional.of(b) : store.binding(senderKey);
    }

    /** The config's bindings, then the store's, each sender once. */
    public List<IdentityBinding> list() {
        List<IdentityBinding> all = new ArrayList<>(configured.values());
        for (IdentityBinding b : store.bindings()) if (!configured.containsKey(b.sender())) all.add(b);
        return all;
    }

    /**
     * Binds {@code senderKey} to {@code team} (and {@code user}).
     *
     * @throws IllegalArgumentException the config binds it already, or the key is not {@code kind:id}
     */
    public IdentityBinding bind(String senderKey, String team, String user, String source, Instant at) {
        checkKey(senderKey);
        if (configured.containsKey(senderKey)) {
            throw new IllegalArgumentException("sender: '" + senderKey + "' is bound in the config file; change it there");
        }
        IdentityBinding b = new IdentityBinding(senderKey, team, user, source, at);
        store.bind(b);
        return b;
    }

    /** @throws IllegalArgumentException the config binds it (change the file instead) */
    public boolean unbind(String senderKey) {
        if (configured.containsKey(senderKey)) {
            throw new IllegalArgumentException("sender: '" + senderKey + "' is bound in the config file; change it there");
        }
        return store.unbind(senderKey);
    }

    /** A sender's key: a known kind, a colon, an id of printable characters without spaces, at most 320 in all. */
    public static void checkKey(String key) {
        int colon = key == null ? -1 : key.indexOf(':');
        if (colon < 1 || colon == key.length() - 1 || key.length() > 320) {
            throw new IllegalArgumentException("sender: expected KIND:ID such as email:alice@corp.example or "
                    + "slack:U024BE7LH; got '" + dev.carapace.text.Excerpt.clip(key == null ? "" : key, 60) + "'");
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c <= ' ' || c == 0x7f || Character.isISOControl(c) || dev.carapace.text.Invisible.is(c)) {
                throw new IllegalArgumentException("sender: must not hold spaces, control or invisible characters");
            }
        }
    }
}
