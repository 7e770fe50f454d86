package dev.carapace.identity;

import dev.carapace.model.ApiException;
import dev.carapace.store.Store;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AuthenticatorTest {

    @TempDir Path dir;
    Store store;
    KeyAdmin admin;

    @BeforeEach
    void open() {
        store = Store.open("jdbc:sqlite:" + dir.resolve("k.db"), null, null, 2);
        admin = new KeyAdmin(store.apiKeys(), Set.of("platform", "research"), Clock.systemUTC());
    }

    @AfterEach
    void close() { store.close(); }

    @Test
    void aCreatedKeyAuthenticatesAndOnlyItsHashIsStored() {
        KeyAdmin.Created c = admin.create("alice", "platform", Principal.Role.ADMIN, "laptop");
        Principal p = new Authenticator(store.apiKeys(), "acme", Duration.ofSeconds(5)).authenticate(c.secret());
        assertThat(p).isEqualTo(new Principal("acme", "platform", "alice", Principal.Role.ADMIN, c.key().prefix()));
        assertThat(c.key().hash()).isEqualTo(KeyMaterial.hash(c.secret())).isNotEqualTo(c.secret());
        assertThat(c.toString()).doesNotContain(c.secret());
        assertThat(c.secret()).startsWith(c.key().prefix() + "_").hasSizeGreaterThan(40);
    }

    @Test
    void revocationIsImmediateWithoutCacheAndAfterForgetWithCache() {
        KeyAdmin.Created c = admin.create("bob", "research", Principal.Role.MEMBER, null);
        Authenticator uncached = new Authenticator(store.apiKeys(), "acme", Duration.ZERO);
        Authenticator cached = new Authenticator(store.apiKeys(), "acme", Duration.ofMinutes(5));
        uncached.authenticate(c.secret());
        cached.authenticate(c.secret());
        assertThat(admin.revoke(c.key().prefix())).isTrue();
        assertThat(admin.revoke(c.key().prefix())).as("second revoke").isFalse();

        assertThatThrownBy(() -> uncached.authenticate(c.secret()))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo("revoked_api_key"));
        assertThat(cached.authenticate(c.secret()).user()).as("within the cache TTL").isEqualTo("bob");
        cached.forget(c.key().prefix());
        assertThatThrownBy(() -> cached.authenticate(c.secret())).isInstanceOf(ApiException.class);
    }

    @Test
    void unknownAndMissingKeysAreRefusedWithoutEchoingTheSecret() {
        Authenticator auth = new Authenticator(store.apiKeys(), "acme", Duration.ofSeconds(5));
        assertThatThrownBy(() -> auth.authenticate(null))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo("missing_api_key"));
        assertThatThrownBy(() -> auth.authenticate("cpk_AbCdEfGh_supersecretpart"))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.code()).isEqualTo("invalid_api_key");
                    assertThat(e.getMessage()).contains("cpk_AbCdEfGh").doesNotContain("supersecretpart");
                });
        assertThatThrownBy(() -> auth.authenticate("sk-someoneelseskey"))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.getMessage()).doesNotContain("someoneelse"));
    }

    @Test
    void keysNeedAKnownTeamAndAValidUser() {
        assertThatThrownBy(() -> admin.create("alice", "sales", Principal.Role.MEMBER, null))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.param()).isEqualTo("team");
                    assertThat(e.getMessage()).contains("sales", "platform", "research");
                });
        assertThatThrownBy(() -> admin.create(null, "platform", Principal.Role.MEMBER, null))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.getMessage()).startsWith("user: required"));
        assertThatThrownBy(() -> admin.create("has space", "platform", Principal.Role.MEMBER, null))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.param()).isEqualTo("user"));
        assertThat(store.apiKeys().count()).as("nothing stored for refused requests").isZero();
    }

    /**
     * Regression (found from outside): a second person called bob, in another team, was let into the first bob's
     * agents, sessions and team memory, and billed to his team, wherever an owner or budget names the user alone.
     */
    @Test
    void aUserNameIsOnePersonAcrossTheOrg() {
        admin.create("bob", "research", Principal.Role.MEMBER, null);
        for (String name : List.of("bob", "Bob")) {
            assertThatThrownBy(() -> admin.create(name, "platform", Principal.Role.MEMBER, null))
                    .isInstanceOfSatisfying(ApiException.class, e -> {
                        assertThat(e.param()).isEqualTo("user");
                        assertThat(e.getMessage()).contains("'" + name + "' is a user of team research");
                    });
        }
        admin.create("bob", "research", Principal.Role.ADMIN, "a second key of the same person");
        assertThat(store.apiKeys().count()).isEqualTo(2);
        assertThat(admin.sharedUserNames()).isEmpty();
        // keys from before the rule: found, so that the gateway can say so at start
        store.apiKeys().insert(new dev.carapace.store.ApiKeys.StoredKey("k-old", "cpk_old", "h-old", "BOB", "platform",
                "member", null, java.time.Instant.now(), null));
        assertThat(admin.sharedUserNames()).containsExactly(java.util.Map.entry("bob", Set.of("platform", "research")));
    }
}
