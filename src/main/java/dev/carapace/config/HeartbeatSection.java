package dev.carapace.config;

import dev.carapace.config.CarapaceConfig.Tools;
import dev.carapace.schedule.heartbeat.ActiveHours;
import dev.carapace.schedule.heartbeat.HeartbeatSpec;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads an agent's {@code heartbeat:} ({@code {every: 30m, active_hours: "08:00-20:00 Europe/Paris", model: ...,
 * checklist: HEARTBEAT.md, watch_files: [...], watch_urls: [...]}}), in the {@code agents:} section or an
 * {@code agent.yaml}. {@link HeartbeatSpec} checks the values; its message names the field
 * ({@code heartbeat.watch_files[2]: ...}), and is reported here at that field's node with the agent's key path.
 */
final class HeartbeatSection {

    /** How HeartbeatSpec and ActiveHours start a message: the field, then an optional index. */
    private static final Pattern FIELD = Pattern.compile("heartbeat\\.([a-z_]+)(?:\\[(\\d+)])?: (.*)", Pattern.DOTALL);

    private HeartbeatSection() {}

    /**
     * The heartbeat of the agent {@code r} is the {@code heartbeat:} mapping of; null when it has a problem (reported).
     *
     * @param model the heartbeat's model, already checked against the config's models and tiers; null for the agent's
     */
    static HeartbeatSpec read(MapReader r, String model, Tools tools) {
        Node everyAt = r.value("every");
        Duration every = everyAt == null ? null : r.duration("every", Duration.ZERO, null);
        if (everyAt == null) r.requiredScalar("every", "how often it beats, a duration such as 30m");
        Node hoursAt = r.value("active_hours");
        String hoursText = r.string("active_hours", "HH:MM-HH:MM ZONE, such as '08:00-20:00 Europe/Paris'", null);
        String checklist = r.string("checklist", "a file in the agent's workspace", null);
        List<Scalar> files = r.scalars("watch_files", "a list of files in the agent's workspace", "a file's path");
        List<Scalar> urls = r.scalars("watch_urls", "a list of http(s) URLs", "an http(s) URL");
        r.finish();
        ActiveHours hours = null;
        if (hoursText != null) {
            try {
                hours = ActiveHours.parse(hoursText);
            } catch (IllegalArgumentException e) {
                report(r, e.getMessage(), hoursAt, files, urls);
                return null;
            }
        }
        if (every == null) return null;
        if (urls != null && !urls.isEmpty() && tools.webFetch() != Tools.WebFetch.PROXY && tools.exec() != Tools.Exec.BWRAP) {
            Scalar first = urls.get(0);
            r.warning(first, "watch_urls", "URLs are checked through the egress proxy, which runs only with "
                    + "'tools: {web_fetch: proxy}' or 'tools: {exec: bwrap}'; without it they are not watched");
        }
        try {
            return new HeartbeatSpec(every, hours, model, checklist, texts(files), texts(urls));
        } catch (IllegalArgumentException e) {
            report(r, e.getMessage(), everyAt, files, urls);
            return null;
        }
    }

    private static List<String> texts(List<Scalar> scalars) {
        return scalars == null ? null : scalars.stream().map(Scalar::text).toList();
    }

    /** A message of HeartbeatSpec or ActiveHours at the node its field names; {@code fallback} when there is none. */
    private static void report(MapReader r, String message, Node fallback, List<Scalar> files, List<Scalar> urls) {
        Matcher m = FIELD.matcher(message);
        if (!m.matches()) {
            r.errorAt(fallback, r.path(), message);
            return;
        }
        String key = m.group(1);
        String path = r.pathOf(key);
        Node at = r.value(key);
        if (m.group(2) != null) {
            int i = Integer.parseInt(m.group(2));
            List<Scalar> items = key.equals("watch_files") ? files : key.equals("watch_urls") ? urls : null;
            if (items != null && i < items.size()) at = items.get(i);
            path = KeyPath.index(path, i);
        }
        r.errorAt(at != null ? at : fallback, path, m.group(3));
    }
}
