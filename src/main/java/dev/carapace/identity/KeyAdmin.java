package dev.carapace.identity;

import dev.carapace.model.ApiException;
import dev.carapace.store.ApiKeys;
import dev.carapace.store.ApiKeys.StoredKey;
import dev.carapace.text.Invisible;

import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

import static dev.carapace.text.Excerpt.clip;

/** Creates, lists and revokes API keys: the admin side of identity, shared by the CLI and {@code /api/keys}. */
public final class KeyAdmin {

    private static final Pattern USER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,127}");

    private final ApiKeys keys;
    private final Set<String> teams;
    private final Clock clock;

    /** @param teams the teams the config declares; a key must belong to one of them */
    public KeyAdmin(ApiKeys keys, Set<String> teams, Clock clock) {
        this.keys = keys;
        this.teams = teams;
        this.clock = clock;
    }

    /** A created key: {@code secret} is shown once, only its hash is stored. */
    public record Created(String secret, StoredKey key) {
        @Override
        public String toString() { return "Created[" + key.prefix() + "]"; }
    }

    /** What a user name may be, wherever one is given (a key, a channel binding): the message when it is not. */
    public static final String USER_FORM = "1-128 characters of letters, digits, '.', '_', '@' or '-' starting with a letter or digit";

    /** Whether {@code user} is a user name ({@link #USER_FORM}). */
    public static boolean isUserName(String user) {
        return user != null && USER.matcher(user).matches();
    }

    public Created create(String user, String team, Principal.Role role, String name) {
        if (user == null) throw ApiException.invalid("user", "user: required (" + USER_FORM + ")");
        if (!isUserName(user)) {
            throw ApiException.invalid("user", "user: expected " + USER_FORM + "; got '" + clip(user, 40) + "'");
        }
        if (team == null || !teams.contains(team)) {
            throw ApiException.invalid("team", "team: '" + clip(team, 40) + "' is not a team of the config (known: "
                    + (teams.isEmpty() ? "none; declare teams under 'teams:'" : String.join(", ", teams.stream().sorted().toList()))
                    + ")");
        }
        // A user name is one person across the org: owners ({user: bob}), budgets (user:bob), spend by user and channel
        // bindings all name users alone, so the same name in a second team would be let into the first one's things.
        String usersTeam = teamOf(keys, user).orElse(null);
        if (usersTeam != null && !usersTeam.equals(team)) {
            throw ApiException.invalid("user", "user: '" + user + "' is a user of team " + usersTeam
                    + "; a user name is one person across the org: create the key in team " + usersTeam
                    + ", or pick another name for this person");
        }
        if (name != null && name.length() > 200) throw ApiException.invalid("name", "name: at most 200 characters");
        if (name != null && name.codePoints().anyMatch(Invisible::is)) {
            // a label read by people in lists and logs: what they see must be what it is
            throw ApiException.invalid("name", "name: control, format and other invisible characters are not allowed");
        }
        KeyMaterial.NewKey k = KeyMaterial.generate();
        StoredKey stored = new StoredKey(UUID.randomUUID().toString(), k.prefix(), k.hash(), user, team,
                role.name().toLowerCase(), name, clock.instant(), null);
        keys.insert(stored);
        return new Created(k.secret(), stored);
    }

    public List<StoredKey> list() { return keys.list(); }

    /**
     * User names the keys give to more than one team (in any case), with those teams: keys made before a user name
     * was one person across the org. Such a name speaks for every team's {@code {user: NAME}} owners and budgets.
     */
    public java.util.Map<String, java.util.Set<String>> sharedUserNames() {
        java.util.Map<String, java.util.Set<String>> teamsOf = new java.util.TreeMap<>();
        for (StoredKey k : keys.list()) {
            if (k.user() != null) {
                teamsOf.computeIfAbsent(k.user().toLowerCase(java.util.Locale.ROOT), u -> new java.util.TreeSet<>()).add(k.team());
            }
        }
        teamsOf.values().removeIf(teams -> teams.size() < 2);
        return teamsOf;
    }

    /**
     * Whether a key (revoked or not) was ever made for a user of exactly this name: who may own jobs made at run
     * time and have a user budget.
     */
    public static boolean hadKey(ApiKeys keys, String user) {
        return keys.list().stream().anyMatch(k -> user.equals(k.user()));
    }

    /** The team whose keys (revoked ones too) name {@code user}, in any case; empty when none does. */
    public static Optional<String> teamOf(ApiKeys keys, String user) {
        if (user == null) return Optional.empty();
        return keys.list().stream().filter(k -> k.user() != null && k.user().equalsIgnoreCase(user))
                .map(StoredKey::team).findFirst();
    }

    /**
     * Whether {@code user} (in any case, as names are unique org-wide in any case) has had keys and had every one
     * revoked: someone who left. What they set running (jobs, their agents' heartbeats and channels) stops as their
     * keys do. A user no key ever named is not: the config may name one, and that is the admin's doing.
     */
    public static boolean revokedUser(ApiKeys keys, String user) {
        if (user == null) return false;
        boolean named = false;
        for (StoredKey k : keys.list()) {
            if (k.user() == null || !k.user().equalsIgnoreCase(user)) continue;
            if (!k.revoked()) return false;
            named = true;
        }
        return named;
    }

    /** @return false when no active key has that prefix */
    public boolean revoke(String prefix) { return keys.revoke(prefix, clock.instant()); }

}
