package dev.carapace.server.http;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RoutesTest {

    private final Route a = x -> {};
    private final Route b = x -> {};
    private final Route c = x -> {};
    private final Route fallback = x -> {};
    private final Routes routes = new Routes()
            .get("/api/runs/{id}", a)
            .post("/api/runs/{id}/cancel", b)
            .get("/api/runs/{id}/events", c)
            .otherwise(fallback);

    @Test
    void templateSegmentsMatchOneDecodedSegmentEach() {
        Routes.Match m = routes.find("GET", "/api/runs/run%201");
        assertThat(m.route()).isSameAs(a);
        assertThat(m.params()).isEqualTo(Map.of("id", "run 1"));
        assertThat(routes.find("POST", "/api/runs/r/cancel").route()).isSameAs(b);
        assertThat(routes.find("GET", "/api/runs/r/events").route()).isSameAs(c);
    }

    @Test
    void anEncodedSlashStaysInsideItsSegment() {
        Routes.Match m = routes.find("GET", "/api/runs/a%2Fevents");
        assertThat(m.route()).isSameAs(a);
        assertThat(m.params()).containsEntry("id", "a/events");
    }

    @Test
    void aPlusInAPathIsAPlus() {
        assertThat(routes.find("GET", "/api/runs/a+b").params()).containsEntry("id", "a+b");
    }

    @Test
    void theWrongMethodAnEmptySegmentOrExtraSegmentsGoToTheFallback() {
        assertThat(routes.find("DELETE", "/api/runs/r").route()).isSameAs(fallback);
        assertThat(routes.find("GET", "/api/runs/").route()).isSameAs(fallback);
        assertThat(routes.find("GET", "/api/runs/r/events/x").route()).isSameAs(fallback);
        assertThat(routes.find("GET", "/api/runs").route()).isSameAs(fallback);
    }

    /** A path some route takes, with another method: the fallback learns which methods it takes (a 405's Allow). */
    @Test
    void theFallbackKnowsTheMethodsAKnownPathTakes() {
        assertThat(routes.find("DELETE", "/api/runs/r").allowed()).containsExactly("GET", "HEAD");
        assertThat(routes.find("GET", "/api/runs/r/cancel").allowed()).containsExactly("POST");
        assertThat(routes.find("GET", "/api/nothing").allowed()).isEmpty();
        assertThat(routes.find("GET", "/api/runs/r").allowed()).as("a match").isEmpty();
    }

    @Test
    void headFindsTheGetRoute() {
        assertThat(routes.find("HEAD", "/api/runs/r").route()).isSameAs(a);
        assertThat(routes.find("HEAD", "/api/runs/r/cancel").route()).as("a POST-only path").isSameAs(fallback);
    }

    @Test
    void literalSegmentsAreComparedDecoded() {
        assertThat(routes.find("GET", "/api/%72uns/r").route()).isSameAs(a);
    }

    @Test
    void malformedPercentEncodingIsRefusedNotGuessed() {
        for (String bad : new String[] {"/api/runs/%zz", "/api/runs/%4", "/api/runs/%", "/api/runs/%c3%28", "/api/runs/%ff"}) {
            assertThatThrownBy(() -> routes.find("GET", bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void encodedControlCharactersDecodeToThemselvesForTheRouteToJudge() {
        assertThat(Routes.decode("x%0a%00y")).isEqualTo("x\n\0y");
        assertThat(Routes.decode("caf%C3%A9")).isEqualTo("café");
    }

    /** Literal templates are looked up directly; that shortcut must give the route the scan in order would. */
    @Test
    void aLiteralRouteIsFoundAsTheFirstMatchInOrderWouldBe() {
        Route models = x -> {}, shadowed = x -> {}, first = x -> {}, second = x -> {};
        Routes r = new Routes()
                .get("/v1/models", models)
                .get("/api/{what}/list", shadowed)
                .get("/api/runs/list", second)      // the template before it matches this path: it wins
                .post("/v1/x", first)
                .post("/v1/x", second)              // a duplicate: the first stays
                .otherwise(fallback);
        assertThat(r.find("GET", "/v1/models").route()).isSameAs(models);
        assertThat(r.find("GET", "/api/runs/list").route()).isSameAs(shadowed);
        assertThat(r.find("GET", "/api/runs/list").params()).containsEntry("what", "runs");
        assertThat(r.find("POST", "/v1/x").route()).isSameAs(first);
        assertThat(r.find("POST", "/v1/models").route()).as("a literal path under another method").isSameAs(fallback);
        assertThat(r.find("GET", "/v1/models/").route()).isSameAs(fallback);
        assertThat(r.find("GET", "/v1//models").route()).isSameAs(fallback);
        assertThat(r.find("GET", "/v1/%6Dodels").route()).as("encoded, it is still that path").isSameAs(models);
        assertThatThrownBy(() -> r.find("GET", "/v1/models%zz")).isInstanceOf(IllegalArgumentException.class);
    }
}
