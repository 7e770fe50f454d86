package dev.carapace.config;

import dev.carapace.config.CarapaceConfig.Team;
import dev.carapace.model.Access;
import dev.carapace.model.DeploymentSpec;
import dev.carapace.model.ModelKind;
import dev.carapace.model.ModelSpec;
import dev.carapace.model.Price;
import dev.carapace.model.PrivacyClass;
import dev.carapace.model.ProviderSpec;
import dev.carapace.model.WireApi;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.ListNode;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import static dev.carapace.config.ConfigChecks.options;
import static dev.carapace.config.ConfigChecks.unknownReference;

/**
 * Reads what clients can ask for and who may: the {@code tiers:}, {@code models:} (with their prices and
 * deployments) and {@code teams:} sections, and warns about tiers that no model serves.
 */
final class ModelsSection {

    private static final Pattern MODEL_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}");
    private static final Map<String, PrivacyClass> PRIVACY = options(PrivacyClass.values());
    private static final Map<String, ModelKind> MODEL_KINDS = options(ModelKind.values());
    /** The longest audio a transcription model takes unless its config says: OpenAI's gpt-4o-transcribe's 1,500 s. */
    static final int DEFAULT_MAX_AUDIO_SECONDS = 1500;

    private final ConfigChecks checks;
    private final Problems problems;
    /** The tier names as written, for warnings; empty when the file uses the default tiers. */
    private final Map<String, Scalar> tierNodes = new LinkedHashMap<>();
    /** Every alias as written, with the model it names: one name leads to one model. */
    private final Map<String, Scalar> aliasNodes = new LinkedHashMap<>();
    private final Map<String, String> aliasOwners = new LinkedHashMap<>();

    ModelsSection(ConfigChecks checks) {
        this.checks = checks;
        this.problems = checks.problems();
    }

    List<String> tiers(MapReader r) {
        List<Scalar> items = r.scalars("tiers", "a list of tier names", "a tier name");
        if (items == null) {
            return CarapaceConfig.DEFAULT_TIERS;
        }
        Node list = r.value("tiers");
        if (((ListNode) list).items().isEmpty()) {
            r.error(list, "tiers", "must name at least one tier (leave the key out for the default tiers: "
                    + String.join(", ", CarapaceConfig.DEFAULT_TIERS) + ")");
        }
        List<String> tiers = new ArrayList<>();
        for (Scalar s : items) {
            String path = r.pathOf("tiers");
            if (!checks.checkName(s.line(), s.column(), path, s.text(), "tier name")) {
                continue;
            }
            Scalar first = tierNodes.putIfAbsent(s.text(), s);
            if (first != null) {
                problems.error(s.line(), s.column(), path,
                        "tier '" + s.text() + "' is listed twice (first at line " + first.line() + ")");
            } else {
                tiers.add(s.text());
            }
        }
        return List.copyOf(tiers);
    }

    Map<String, ModelSpec> models(MapReader root, List<String> tiers, Map<String, ProviderSpec> providers) {
        Map<String, ModelSpec> models = new LinkedHashMap<>();
        for (Entry e : root.entries("models")) {
            models.put(e.key(), model(e, tiers, providers));
        }
        for (var a : aliasNodes.entrySet()) {
            if (models.containsKey(a.getKey())) {
                Scalar s = a.getValue();
                problems.error(s.line(), s.column(), KeyPath.key("models", aliasOwners.get(a.getKey())) + ".aliases",
                        "alias '" + a.getKey() + "' is the id of another model; a name leads to one model");
            }
        }
        return Collections.unmodifiableMap(models);
    }

    /**
     * A model's other names: exact names in the form of a model id, or a prefix of one ending in {@code *}
     * ({@code claude-*}: every name that starts so and is no model's id or exact alias, the longest prefix winning).
     */
    private List<String> aliases(MapReader r, String id) {
        List<Scalar> items = r.scalars("aliases", "a list of other names for this model", "an alias");
        if (items == null) return List.of();
        List<String> out = new ArrayList<>();
        String path = r.pathOf("aliases");
        for (Scalar s : items) {
            String alias = s.text();
            String name = alias.endsWith("*") ? alias.substring(0, alias.length() - 1) : alias;
            if (name.isEmpty() || name.startsWith("tier:") || !MODEL_ID.matcher(name).matches() || name.contains("*")) {
                problems.error(s.line(), s.column(), path, "invalid alias '" + alias + "' (expected a model name: "
                        + "letters, digits, '.', '_', ':', '/' and '-', starting with a letter or digit, not 'tier:...'; "
                        + "or such a prefix followed by '*', like claude-*)");
                continue;
            }
            Scalar first = aliasNodes.putIfAbsent(alias, s);
            if (first != null) {
                problems.error(s.line(), s.column(), path, "alias '" + alias + "' is given twice (first at line "
                        + first.line() + ", for model '" + aliasOwners.get(alias) + "'); a name leads to one model");
                continue;
            }
            aliasOwners.put(alias, id);
            out.add(alias);
        }
        return out;
    }

    private ModelSpec model(Entry e, List<String> tiers, Map<String, ProviderSpec> providers) {
        String id = e.key();
        String path = KeyPath.key("models", id);
        if (id.startsWith("tier:")) {
            problems.error(e.line(), e.column(), path,
                    "a model id must not start with 'tier:' (clients use tier:NAME to ask for a whole tier)");
        } else if (!MODEL_ID.matcher(id).matches()) {
            problems.error(e.line(), e.column(), path, "invalid model id '" + id + "' (expected letters, digits, "
                    + "'.', '_', ':', '/' and '-', starting with a letter or digit, at most 128 characters)");
        }
        MapReader r = MapReader.of(e.value(), path, e.line(), e.column(), problems);
        String tier = checks.reference(r, "tier", tiers, "tier");
        PrivacyClass privacy = r.choice("privacy", PRIVACY, PrivacyClass.EXTERNAL);
        ModelKind kind = r.choice("kind", MODEL_KINDS, ModelKind.CHAT);
        if (kind == ModelKind.TRANSCRIPTION || kind == ModelKind.SPEECH) return audioModel(r, id, tier, privacy, kind, providers);
        boolean embedding = kind == ModelKind.EMBEDDING;
        int contextWindow = r.requiredInteger("context_window", 1, Integer.MAX_VALUE);
        // An embedding model produces no tokens: it has no output limit, and no output price.
        int maxOutputTokens = embedding ? 0 : r.requiredInteger("max_output_tokens", 1, Integer.MAX_VALUE);
        if (embedding && r.value("max_output_tokens") != null) {
            r.error(r.value("max_output_tokens"), "max_output_tokens", "an embedding model produces no output tokens; remove it");
        }
        if (contextWindow > 0 && maxOutputTokens > contextWindow) {
            r.error(r.value("max_output_tokens"), "max_output_tokens", "must not be more than context_window ("
                    + contextWindow + "), got " + maxOutputTokens);
        }
        double speedTarget = r.positiveNumber("speed_target", 0);
        double tokenizerFactor = r.positiveNumber("tokenizer_factor", 0);
        if (tokenizerFactor != 0 && (tokenizerFactor < 1 || tokenizerFactor > 10)) {
            r.error(r.value("tokenizer_factor"), "tokenizer_factor", "must be from 1 to 10 (this model's tokens per"
                    + " o200k token, for budget reservations), got " + tokenizerFactor);
        }
        Price price = price(r.requiredObject("price", embedding ? "USD per million tokens: {input: ...}"
                : "USD per million tokens: {input: ..., output: ...}"), embedding);
        List<DeploymentSpec> deployments = deployments(r, id, providers);
        List<String> aliases = aliases(r, id);
        for (DeploymentSpec d : deployments) {
            ProviderSpec p = providers.get(d.provider());
            if (p != null && p.local() != null) {
                r.error(r.value("deployments"), "deployments", "provider '" + d.provider() + "' is of kind espeak, which"
                        + " serves speech models only (kind: speech)");
            } else if (embedding && p != null && p.kind() != null && p.kind() != WireApi.OPENAI) {
                r.error(r.value("deployments"), "deployments", "provider '" + d.provider() + "' is of kind "
                        + kindLabel(p) + ", which serves no embeddings; an"
                        + " embedding model needs providers of kind openai (POST /embeddings)");
            }
        }
        r.finish();
        return new ModelSpec(id, tier, price, contextWindow, maxOutputTokens, speedTarget, privacy, deployments, kind,
                tokenizerFactor, aliases);
    }

    private static String kindLabel(ProviderSpec p) {
        return ProvidersSection.KINDS.entrySet().stream().filter(k -> k.getValue() == p.kind()).findFirst()
                .map(Map.Entry::getKey).orElse(p.kind().name());
    }

    /**
     * A transcription or speech model: metered in seconds of audio or characters of input, priced per minute or per
     * million characters (kept as USD per million of its unit, as every price is), limited to the longest audio or
     * input its upstream takes, served by OpenAI-compatible providers (and, for speech, espeak-ng on this machine).
     */
    private ModelSpec audioModel(MapReader r, String id, String tier, PrivacyClass privacy, ModelKind kind,
                                 Map<String, ProviderSpec> providers) {
        boolean speech = kind == ModelKind.SPEECH;
        for (String tokenKey : List.of("context_window", "max_output_tokens", "tokenizer_factor", "speed_target")) {
            if (r.value(tokenKey) != null) {
                r.error(r.value(tokenKey), tokenKey, "a " + kind.label() + " model is metered in " + kind.unit + "s, not tokens; remove it"
                        + (tokenKey.equals("context_window") ? " (its limit is " + (speech ? "max_input_characters" : "max_audio_seconds") + ")" : ""));
            }
        }
        int limit = speech ? r.integer("max_input_characters", 1, 1_000_000, dev.carapace.model.audio.OpenAiAudio.MAX_SPEECH_CHARACTERS)
                : r.integer("max_audio_seconds", 1, 86_400, DEFAULT_MAX_AUDIO_SECONDS);
        MapReader p = r.requiredObject("price", speech ? "USD per million characters of input: {per_million_characters: ...}"
                : "USD per minute of audio: {per_minute: ...}");
        BigDecimal perMillion;
        if (speech) {
            perMillion = p.requiredDecimal("per_million_characters");
        } else {
            BigDecimal perMinute = p.requiredDecimal("per_minute");
            // Kept per million seconds, as every price is per million units: exact to 16 digits, rounded to the
            // nano-dollar once per call.
            perMillion = perMinute == null ? null : perMinute.multiply(BigDecimal.valueOf(1_000_000))
                    .divide(BigDecimal.valueOf(60), java.math.MathContext.DECIMAL64).stripTrailingZeros();
        }
        p.finish();
        Price price = perMillion == null ? Price.FREE : new Price(perMillion, BigDecimal.ZERO, perMillion);
        List<DeploymentSpec> deployments = deployments(r, id, providers);
        List<String> aliases = aliases(r, id);
        for (DeploymentSpec d : deployments) {
            ProviderSpec ps = providers.get(d.provider());
            if (ps == null || ps.local() == null && ps.kind() == null) continue;   // its own error is reported
            if (ps.local() != null && !speech) {
                r.error(r.value("deployments"), "deployments", "provider '" + d.provider() + "' is of kind espeak, which"
                        + " speaks; it transcribes nothing (a transcription model needs providers of kind openai)");
            } else if (ps.local() == null && ps.kind() != WireApi.OPENAI) {
                r.error(r.value("deployments"), "deployments", "provider '" + d.provider() + "' is of kind " + kindLabel(ps)
                        + ", which serves no audio; a " + kind.label() + " model needs providers of kind openai"
                        + (speech ? " (POST /audio/speech) or espeak" : " (POST /audio/transcriptions)"));
            }
        }
        r.finish();
        return new ModelSpec(id, tier, price, limit, 0, 0, privacy, deployments, kind, 0, aliases);
    }

    /**
     * The {@code voice:} section: the models the gateway's own voice uses (each must be of its kind), and the audio
     * endpoints' limit.
     */
    CarapaceConfig.Voice voice(MapReader r, Map<String, ModelSpec> models) {
        CarapaceConfig.Voice d = CarapaceConfig.Voice.DEFAULT;
        String transcription = voiceModel(r, "transcription_model", ModelKind.TRANSCRIPTION, models);
        String speech = voiceModel(r, "speech_model", ModelKind.SPEECH, models);
        String voice = r.string("speech_voice", "a voice name such as alloy", d.speechVoice());
        long maxAudio = r.size("max_audio_bytes", 1, Integer.MAX_VALUE - 8, d.maxAudioBytes());
        r.finish();
        return new CarapaceConfig.Voice(transcription, speech, voice, maxAudio);
    }

    private String voiceModel(MapReader r, String key, ModelKind kind, Map<String, ModelSpec> models) {
        Scalar s = r.scalar(key, "the id of a " + kind.label() + " model");
        if (s == null) return null;
        ModelSpec m = models.get(s.text());
        if (m == null) {
            r.error(s, key, unknownReference(s.text(), models.keySet(), "model"));
        } else if (m.kind() != kind) {
            r.error(s, key, "model '" + s.text() + "' is of kind " + m.kind().label() + "; expected a " + kind.label() + " model");
        }
        return s.text();
    }

    private Price price(MapReader r, boolean embedding) {
        BigDecimal input = r.requiredDecimal("input");
        BigDecimal output = embedding ? r.decimal("output", BigDecimal.ZERO) : r.requiredDecimal("output");
        BigDecimal cachedInput = r.decimal("cached_input", input);
        r.finish();
        return new Price(input, output, cachedInput);
    }

    private List<DeploymentSpec> deployments(MapReader r, String id, Map<String, ProviderSpec> providers) {
        ListNode list = r.requiredList("deployments", "a list of deployments, each '- provider: NAME'");
        if (list == null) {
            return List.of();
        }
        if (list.items().isEmpty()) {
            r.error(list, "deployments", "must list at least one deployment ('- provider: NAME')");
        }
        List<DeploymentSpec> deployments = new ArrayList<>();
        for (int i = 0; i < list.items().size(); i++) {
            Node item = list.items().get(i);
            MapReader d = MapReader.of(item, KeyPath.index(r.pathOf("deployments"), i), item.line(), item.column(),
                    problems);
            String provider = checks.reference(d, "provider", providers.keySet(), "provider");
            String upstreamModel = d.string("model", "the model's name at the provider", id);
            d.finish();
            deployments.add(new DeploymentSpec(provider, upstreamModel));
        }
        return deployments;
    }

    Map<String, Team> teams(MapReader root, List<String> tiers, Map<String, ModelSpec> models) {
        Map<String, Team> teams = new LinkedHashMap<>();
        for (Entry e : root.entries("teams")) {
            String path = KeyPath.key("teams", e.key());
            checks.checkName(e.line(), e.column(), path, e.key(), "team name");
            MapReader r = MapReader.of(e.value(), path, e.line(), e.column(), problems);
            Set<String> teamTiers = checks.references(r, "tiers", tiers, "tier");
            Set<String> teamModels = checks.references(r, "models", models.keySet(), "model");
            Scalar downgrade = r.scalar("downgrade_to", "a tier name");
            String downgradeTier = null;
            if (downgrade != null) {
                if (tiers.contains(downgrade.text())) {
                    downgradeTier = downgrade.text();
                } else {
                    r.error(downgrade, "downgrade_to", unknownReference(downgrade.text(), tiers, "tier"));
                }
            }
            r.finish();
            teams.put(e.key(), new Team(e.key(), new Access(teamTiers, teamModels, downgradeTier)));
        }
        return Collections.unmodifiableMap(teams);
    }

    void warnAboutEmptyTiers(MapNode root, List<String> tiers, Map<String, ModelSpec> models) {
        if (models.isEmpty()) {
            Entry at = root.get("models");
            problems.warning(at == null ? root.line() : at.line(), at == null ? root.column() : at.column(),
                    "models", "no models are configured");
            return;
        }
        Set<String> used = new LinkedHashSet<>();
        models.values().forEach(m -> used.add(m.tier()));
        for (String tier : tiers) {
            if (!used.contains(tier)) {
                Node at = tierNodes.get(tier);
                problems.warning(at == null ? root.line() : at.line(), at == null ? root.column() : at.column(),
                        "tiers", "tier '" + tier + "' has no models");
            }
        }
    }
}
