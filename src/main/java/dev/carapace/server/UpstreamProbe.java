package dev.carapace.server;

import dev.carapace.model.Provider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * At start-up, tells the operator which providers cannot be reached from this machine (a mistyped base URL, a
 * host that does not resolve, a port nothing listens on), with the same advice a call that fails there gets: one
 * WARN per such provider, naming the models it serves. It runs in the background with a short timeout, so the
 * gateway is ready at once whatever the network does; it sends no request, only opens a connection.
 */
final class UpstreamProbe {

    private static final Logger log = LoggerFactory.getLogger(UpstreamProbe.class);

    private UpstreamProbe() {}

    /**
     * @param models the ids of the models each provider serves, by provider name
     */
    static void start(List<Provider> providers, Map<String, List<String>> models, Duration timeout) {
        // one thread each: a name server that takes its time over one host delays no other provider's check
        for (Provider p : providers) {
            Thread.ofVirtual().name("carapace-upstream-probe-" + p.name()).start(() -> {
                List<String> served = models.getOrDefault(p.name(), List.of());
                String problem = p.probe(timeout, served.isEmpty() ? "no model uses it"
                        : "it serves model" + (served.size() == 1 ? " " : "s ") + String.join(", ", served)
                          + ", whose calls will fail over or fail until it can be reached");
                if (problem != null) log.warn("{}", problem);
            });
        }
    }
}
