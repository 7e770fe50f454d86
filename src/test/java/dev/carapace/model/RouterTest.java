package dev.carapace.model;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RouterTest {

    static final RoutingPolicy POLICY = new RoutingPolicy(3, 2, Duration.ofSeconds(10));

    static Portfolio portfolio(int deployments) {
        Map<String, Provider> providers = new HashMap<>();
        List<DeploymentSpec> ds = new ArrayList<>();
        for (int i = 0; i < deployments; i++) {
            ProviderSpec spec = new ProviderSpec("p" + i, WireApi.OPENAI, URI.create("http://127.0.0.1:9/v1"), null,
                    Duration.ofSeconds(1), Duration.ofSeconds(1), Map.of());
            providers.put(spec.name(), new Provider(spec, new dev.carapace.model.openai.OpenAiFormat(), null));
            ds.add(new DeploymentSpec("p" + i, "m"));
        }
        Price price = new Price(BigDecimal.ONE, BigDecimal.ONE, BigDecimal.ONE);
        return new Portfolio(List.of("mid", "high"), List.of(
                new ModelSpec("a", "mid", price, 1000, 100, 0, PrivacyClass.EXTERNAL, ds),
                new ModelSpec("b", "mid", price, 1000, 100, 0, PrivacyClass.EXTERNAL, List.of(ds.get(0))),
                new ModelSpec("c", "high", price, 1000, 100, 0, PrivacyClass.PRIVATE, List.of(ds.get(0)))), providers);
    }

    @Test
    void affinityIsStableAndSpreadsAcrossDeployments() {
        Portfolio p = portfolio(4);
        Router r = new Router(POLICY);
        Portfolio.Entry a = p.resolve("a", Access.ALL, "t");
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 4000; i++) {
            Deployment d = r.choose(a, "session-" + i, List.of(), 0);
            assertThat(r.choose(a, "session-" + i, List.of(), 0)).isSameAs(d);
            counts.merge(d.id(), 1, Integer::sum);
        }
        assertThat(counts).hasSize(4);
        counts.values().forEach(n -> assertThat(n).isBetween(800, 1200));
    }

    @Test
    void affinityMovesOnlyTheKeysOfACoolingDeployment() {
        Portfolio p = portfolio(3);
        Router r = new Router(POLICY);
        Portfolio.Entry a = p.resolve("a", Access.ALL, "t");
        Map<String, Deployment> before = new HashMap<>();
        for (int i = 0; i < 300; i++) before.put("k" + i, r.choose(a, "k" + i, List.of(), 0));
        Deployment sick = a.deployments().get(1);
        sick.failed(Duration.ofSeconds(30), POLICY, 0);
        for (var e : before.entrySet()) {
            Deployment now = r.choose(a, e.getKey(), List.of(), 1);
            if (e.getValue() == sick) assertThat(now).isNotSameAs(sick);
            else assertThat(now).as("keys of healthy deployments stay").isSameAs(e.getValue());
        }
    }

    @Test
    void withoutAffinityTheFirstHealthyDeploymentInListOrderIsTriedFirst() {
        Portfolio.Entry a = portfolio(3).resolve("a", Access.ALL, "t");
        Router r = new Router(POLICY);
        Deployment first = a.deployments().get(0), second = a.deployments().get(1), third = a.deployments().get(2);
        // load on the first does not move calls off it: the list is an order of preference, not a pool
        first.begin();
        first.begin();
        third.begin();
        for (int i = 0; i < 64; i++) {
            assertThat(r.choose(a, null, List.of(), 0)).as("call %d", i).isSameAs(first);
            assertThat(r.choose(a, null, List.of(first), 0)).as("its failover").isSameAs(second);
            assertThat(r.choose(a, null, List.of(first, second), 0)).isSameAs(third);
        }
        assertThat(r.choose(a, null, a.deployments(), 0)).isNull();
        first.failed(Duration.ofSeconds(5), POLICY, 0);
        for (int i = 0; i < 64; i++) {
            assertThat(r.choose(a, null, List.of(), 1)).as("the first is cooling").isSameAs(second);
        }
        assertThat(r.choose(a, null, List.of(), Duration.ofSeconds(5).toNanos())).as("and back").isSameAs(first);
    }

    @Test
    void cooldownAfterThresholdThenRecovery() {
        Portfolio.Entry b = portfolio(1).resolve("b", Access.ALL, "t");
        Deployment d = b.deployments().get(0);
        Router r = new Router(POLICY);
        ApiException boom = ApiException.of(ApiException.Kind.UPSTREAM, "x", "boom");
        assertThat(r.failed(d, boom, 0)).as("below the threshold of 2").isFalse();
        assertThat(r.choose(b, null, List.of(), 1)).isSameAs(d);
        assertThat(r.failed(d, boom, 1)).isTrue();
        assertThat(r.choose(b, null, List.of(), 2)).isNull();
        assertThat(r.shortestCooldown(b, 2)).isEqualTo(Duration.ofSeconds(10).toNanos() - 1);
        assertThat(r.choose(b, null, List.of(), 1 + Duration.ofSeconds(10).toNanos())).isSameAs(d);
    }

    @Test
    void retryAfterCoolsDownAtOnceForThatLong() {
        Portfolio.Entry b = portfolio(1).resolve("b", Access.ALL, "t");
        Deployment d = b.deployments().get(0);
        ApiException limited = ApiException.of(ApiException.Kind.RATE_LIMITED, "rl", "slow").withRetryAfter(Duration.ofMillis(300));
        assertThat(new Router(POLICY).failed(d, limited, 0)).isTrue();
        assertThat(d.coolingDown(Duration.ofMillis(299).toNanos())).isTrue();
        assertThat(d.coolingDown(Duration.ofMillis(300).toNanos())).isFalse();
    }

    @Test
    void onlyFailuresOfTheDeploymentAreWorthFailover() {
        assertThat(Router.worthFailover(ApiException.of(ApiException.Kind.RATE_LIMITED, "a", "b"))).isTrue();
        assertThat(Router.worthFailover(ApiException.of(ApiException.Kind.TIMEOUT, "a", "b"))).isTrue();
        assertThat(Router.worthFailover(ApiException.of(ApiException.Kind.UNAVAILABLE, "a", "b"))).isTrue();
        assertThat(Router.worthFailover(ApiException.invalid("messages", "bad"))).isFalse();
        assertThat(Router.worthFailover(ApiException.of(ApiException.Kind.PERMISSION, "a", "b"))).isFalse();
    }

    @Test
    void carapacesOwnExhaustionNeverCoolsADeploymentDown() {
        Deployment d = portfolio(1).resolve("a", Access.ALL, "t").deployments().getFirst();
        Router r = new Router(POLICY);   // cools down at the second failure
        for (String code : List.of(Provider.CONNECTIONS_EXHAUSTED, Provider.OUT_OF_DESCRIPTORS, Router.INTERRUPTED)) {
            ApiException local = ApiException.of(ApiException.Kind.UNAVAILABLE, code, "x")
                    .withRetryAfter(Duration.ofSeconds(1));
            assertThat(Router.local(local)).as(code).isTrue();
            assertThat(Router.worthFailover(local)).as(code).isFalse();
            for (int i = 0; i < 5; i++) assertThat(r.failed(d, local, 0)).as(code).isFalse();
            assertThat(d.coolingDown(1)).as(code).isFalse();
        }
        // an upstream's own answer cannot pass for Carapace's exhaustion: only UNAVAILABLE with the code is local
        ApiException fromUpstream = new ApiException(ApiException.Kind.UPSTREAM, "x", null,
                Provider.OUT_OF_DESCRIPTORS, null, true);
        assertThat(Router.local(fromUpstream)).isFalse();
        // and a real upstream failure still counts, from where it stood
        ApiException unreachable = ApiException.of(ApiException.Kind.UPSTREAM, "upstream_unreachable", "x");
        assertThat(r.failed(d, unreachable, 0)).isFalse();
        assertThat(r.failed(d, unreachable, 0)).isTrue();
        assertThat(d.coolingDown(1)).isTrue();
    }

    @Test
    void tierResolutionPrefersAModelThatIsNotCooling() {
        Portfolio p = portfolio(2);
        assertThat(p.resolve("tier:mid", Access.ALL, "t").id()).isEqualTo("a");
        Access onlyB = new Access(Set.of(), Set.of("b", "c"));
        assertThat(p.resolve("tier:mid", onlyB, "t").id()).isEqualTo("b");
        assertThatThrownBy(() -> p.resolve("tier:high", new Access(Set.of("mid"), Set.of()), "Team 'x'"))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.kind()).isEqualTo(ApiException.Kind.PERMISSION);
                    assertThat(e.getMessage()).contains("Team 'x'", "high", "mid");
                });
        assertThatThrownBy(() -> p.resolve("tier:gold", Access.ALL, "t"))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.kind()).isEqualTo(ApiException.Kind.NOT_FOUND));
        assertThatThrownBy(() -> p.resolve("a", onlyB, "t"))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo("model_not_allowed"));
    }
}
