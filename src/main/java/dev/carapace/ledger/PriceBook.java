package dev.carapace.ledger;

import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.ModelSpec;
import dev.carapace.model.Price;
import dev.carapace.store.LedgerTables.PriceRow;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Prices over time. At start, each model's configured price is recorded as effective from now if it differs from
 * the last one recorded; a call is priced at the price in force when it arrived, and its record keeps that cost,
 * so a price change never rewrites history.
 */
public final class PriceBook {

    private final Map<String, NavigableMap<Instant, Price>> history = new HashMap<>();

    public PriceBook(LedgerBook book, Iterable<ModelSpec> models, Clock clock) {
        Instant now = clock.instant();
        for (ModelSpec m : models) {
            Price p = m.price();
            book.putPrice(new PriceRow(m.id(), now, p.input().toPlainString(), p.output().toPlainString(),
                    p.cachedInput().toPlainString()));
        }
        for (PriceRow r : book.prices()) {
            history.computeIfAbsent(r.model(), k -> new TreeMap<>()).put(r.effectiveAt(),
                    new Price(new BigDecimal(r.input()), new BigDecimal(r.output()), new BigDecimal(r.cachedInput())));
        }
    }

    /** The price of {@code model} in force at {@code t}; the configured one if none was recorded by then. */
    public Price at(ModelSpec model, Instant t) {
        NavigableMap<Instant, Price> h = history.get(model.id());
        if (h == null) return model.price();
        Map.Entry<Instant, Price> e = h.floorEntry(t);
        return e == null ? model.price() : e.getValue();
    }

    /** The price of the model named {@code modelId} in force at {@code t}, as recorded; null if none was by then. */
    public Price at(String modelId, Instant t) {
        NavigableMap<Instant, Price> h = history.get(modelId);
        Map.Entry<Instant, Price> e = h == null ? null : h.floorEntry(t);
        return e == null ? null : e.getValue();
    }
}
