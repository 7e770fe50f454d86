package dev.carapace.server.api;

import dev.carapace.identity.Principal;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.ApiException;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.Routes;
import dev.carapace.server.json.SpendReport;

import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Set;

import static dev.carapace.server.api.HttpApi.sendJson;
import static dev.carapace.text.Excerpt.clip;

/**
 * The spend report ({@code /api/spend}): requests, tokens and cost grouped by one dimension over UTC days; admins
 * see everyone's, members their own. Framed like every {@code /api} route by {@link HttpApi#handleApi}.
 */
public final class SpendApi {

    private final HttpApi api;
    private final LedgerBook book;
    private final Clock clock;

    public SpendApi(HttpApi api, LedgerBook book, Clock clock) {
        this.api = api;
        this.book = book;
        this.clock = clock;
    }

    /** Registered before {@link HttpApi#routes}, whose catch-all answers everything else. */
    public void routes(Routes r) {
        r.get("/api/spend", x -> api.handleApi("api", x, () -> spend(x)));
    }

    private void spend(Exchange x) {
        Principal p = api.authenticate(x);
        for (String name : x.queryNames()) {
            if (!Set.of("by", "since", "until").contains(name)) {
                throw ApiException.invalid(name, name + ": unknown parameter (expected by, since, until)");
            }
        }
        String by = x.query("by");
        if (by == null || !SpendReport.DIMENSIONS.contains(by)) {
            throw ApiException.invalid("by", "by: expected one of team, user, agent, model, tier; got '" + clip(by, 60) + "'");
        }
        LocalDate today = LocalDate.now(clock.withZone(ZoneOffset.UTC));
        LocalDate since = date("since", x.query("since"), today.withDayOfMonth(1));
        LocalDate until = date("until", x.query("until"), today);
        if (since.isAfter(until)) throw ApiException.invalid("since", "since: " + since + " is after until (" + until + ")");
        String user = p.isAdmin() ? null : p.user();
        sendJson(x, 200, SpendReport.json(by, since, until, user, book.spend(by, since, until, user)));
    }

    private static LocalDate date(String param, String value, LocalDate fallback) {
        if (value == null) return fallback;
        try {
            LocalDate date = LocalDate.parse(value);
            if (date.getYear() >= 1 && date.getYear() <= 9999) return date;   // as far as the stores' epoch milliseconds go, and more
        } catch (DateTimeParseException e) {
            // below
        }
        throw ApiException.invalid(param, param + ": expected a date YYYY-MM-DD (UTC) in the years 1 to 9999; got '"
                + clip(value, 60) + "'");
    }
}
