package dev.carapace.channel;

import java.time.Instant;
import java.util.Objects;

/**
 * A channel identity bound to a person of the org: messages from {@code sender} are theirs (their budget, their
 * name in the transcript).
 *
 * @param sender    {@link Sender#key()}: {@code email:alice@corp.example}, {@code slack:U024BE7LH}, ...
 * @param team      the person's team
 * @param user      the person, or null for a team's shared identity (a team mailbox)
 * @param source    {@code config}, {@code api} or {@code pairing}: where the binding came from
 * @param createdAt when it was made (the config's bindings: when the gateway started)
 */
public record IdentityBinding(String sender, String team, String user, String source, Instant createdAt) {

    public IdentityBinding {
        Objects.requireNonNull(sender, "sender");
        Objects.requireNonNull(team, "team");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(createdAt, "createdAt");
    }
}
