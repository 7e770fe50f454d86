package dev.carapace.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.Routes;
import dev.carapace.server.json.SkillsJson;
import dev.carapace.skill.repo.Caller;
import dev.carapace.skill.repo.Scope;
import dev.carapace.skill.repo.SkillArchives;
import dev.carapace.skill.repo.SkillRepoException;
import dev.carapace.skill.repo.SkillRepository;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static dev.carapace.server.api.AgentApi.noQuery;
import static dev.carapace.server.api.HttpApi.parseJsonObject;
import static dev.carapace.server.api.HttpApi.sendJson;
import static dev.carapace.server.json.AgentJson.JSON;
import static dev.carapace.text.Excerpt.clip;

/**
 * The org skill repository ({@code /api/skills}): publish (a skill's files as text, or a base64 .zip/.tar.gz), import
 * an archive of many skills, list and show versions with their scan findings, review (admins), and installs: install,
 * pin, remove at a scope. Who may do what is {@link SkillRepository}'s rule; its refusals become this API's errors
 * (400 malformed, 403 not allowed, 404 unknown, 413 too large). Uploads are bounded by {@code server.max_body_bytes}
 * and then by the archive caps.
 */
public final class SkillsApi {

    private final HttpApi api;
    private final SkillRepository repo;

    public SkillsApi(HttpApi api, SkillRepository repo) {
        this.api = api;
        this.repo = repo;
    }

    /** Registered before {@link HttpApi#routes}, whose catch-all answers everything else. */
    public void routes(Routes r) {
        r.get("/api/skills", x -> handle(x, () -> list(x)))
         .post("/api/skills", x -> handle(x, () -> publish(x)))
         .post("/api/skills/import", x -> handle(x, () -> importAll(x)))
         .get("/api/skills/installs", x -> handle(x, () -> installs(x)))
         .post("/api/skills/installs", x -> handle(x, () -> install(x, false)))
         .post("/api/skills/installs/pin", x -> handle(x, () -> install(x, true)))
         .delete("/api/skills/installs/{scope}/{name}", x -> handle(x, () -> remove(x)))
         .get("/api/skills/{name}", x -> handle(x, () -> show(x, null)))
         .get("/api/skills/{name}/{hash}", x -> handle(x, () -> show(x, x.pathParam("hash"))))
         .get("/api/skills/{name}/{hash}/file", x -> handle(x, () -> file(x)))
         .post("/api/skills/{name}/{hash}/review", x -> handle(x, () -> review(x)));
    }

    private void handle(Exchange x, HttpApi.ApiRoute route) throws IOException {
        api.handleApi("skills", x, () -> {
            try {
                route.run();
            } catch (SkillRepoException e) {
                throw api(e);
            }
        });
    }

    static ApiException api(SkillRepoException e) {
        return switch (e.kind()) {
            case INVALID -> new ApiException(ApiException.Kind.INVALID_REQUEST, e.getMessage(), e.field(), "invalid_request", null, false);
            case CONFLICT -> new ApiException(ApiException.Kind.INVALID_REQUEST, e.getMessage(), e.field(), "version_not_approved", null, false);
            case FORBIDDEN -> new ApiException(ApiException.Kind.PERMISSION, e.getMessage(), e.field(), "skill_forbidden", null, false);
            case NOT_FOUND -> new ApiException(ApiException.Kind.NOT_FOUND, e.getMessage(), e.field(), "skill_not_found", null, false);
            case TOO_LARGE -> new ApiException(ApiException.Kind.TOO_LARGE, e.getMessage(), e.field(), "skill_too_large", null, false);
        };
    }

    private Caller caller(Exchange x) {
        Principal p = api.authenticate(x);
        return new Caller(p.user(), p.team(), p.isAdmin());
    }

    private void list(Exchange x) {
        Caller c = caller(x);
        noQuery(x);
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        repo.versions(null).forEach(v -> data.add(SkillsJson.version(v, false)));
        ArrayNode installs = body.putArray("installs");
        repo.installs(null, c).forEach(i -> installs.add(SkillsJson.install(i)));
        sendJson(x, 200, body);
    }

    /** {@code {"files": {"SKILL.md": "...", ...}}} or {@code {"archive": "<base64 .zip or .tar.gz>"}}; optional {@code name}. */
    private void publish(Exchange x) throws IOException {
        Caller c = caller(x);
        noQuery(x);
        JsonNode in = parseJsonObject(api.body(x));
        fields(in, Set.of("files", "archive", "name"));
        String name = HttpApi.text(in, "name", null);
        SkillRepository.Published p = repo.publish(files(in), name, c);
        sendJson(x, p.created() ? 201 : 200, SkillsJson.version(p.version(), true).put("created", p.created()));
    }

    private void importAll(Exchange x) throws IOException {
        Caller c = caller(x);
        noQuery(x);
        JsonNode in = parseJsonObject(api.body(x));
        fields(in, Set.of("archive", "files"));
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        for (var e : repo.importAll(files(in), c)) {
            ObjectNode n = data.addObject().put("folder", e.getKey());
            if (e.getValue() instanceof SkillRepository.Published p) {
                n.put("created", p.created()).set("version", SkillsJson.version(p.version(), false));
            } else if (e.getValue() instanceof SkillRepoException err) {
                n.put("error", err.getMessage());
            }
        }
        sendJson(x, 200, body);
    }

    private static Map<String, byte[]> files(JsonNode in) {
        JsonNode files = in.get("files");
        JsonNode archive = in.get("archive");
        if ((files == null) == (archive == null)) {
            throw ApiException.invalid(null, "give either files (an object of path to text) or archive (base64 of a .zip or .tar.gz)");
        }
        if (archive != null) {
            if (!archive.isTextual()) throw ApiException.invalid("archive", "archive: expected a base64 string");
            byte[] bytes;
            try {
                bytes = Base64.getMimeDecoder().decode(archive.asText());
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid("archive", "archive: not valid base64");
            }
            return SkillArchives.read(bytes, SkillArchives.Limits.DEFAULT);
        }
        if (!files.isObject()) throw ApiException.invalid("files", "files: expected an object of path to text");
        if (files.size() > SkillArchives.Limits.DEFAULT.maxFiles()) {
            throw ApiException.invalid("files", "files: more than " + SkillArchives.Limits.DEFAULT.maxFiles() + " files");
        }
        Map<String, byte[]> out = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = files.fields(); it.hasNext(); ) {
            var f = it.next();
            if (!f.getValue().isTextual()) {
                throw ApiException.invalid("files." + clip(f.getKey(), 80), "files." + clip(f.getKey(), 80) + ": expected the file's text");
            }
            String path = SkillArchives.checkedPath(f.getKey(), "files");
            // "./SKILL.md" and "SKILL.md" are one file: refused like an archive's duplicate, never one silently dropped
            if (out.put(path, f.getValue().asText().getBytes(StandardCharsets.UTF_8)) != null) {
                throw ApiException.invalid("files." + clip(f.getKey(), 80), "files." + clip(f.getKey(), 80) + ": the same file as '"
                        + clip(path, 80) + "', given twice; give each file once");
            }
        }
        return out;
    }

    private void show(Exchange x, String hash) {
        caller(x);
        noQuery(x);
        String name = x.pathParam("name");
        ObjectNode body = SkillsJson.version(repo.show(name, hash), true);
        if (hash == null) {
            ArrayNode versions = body.putArray("versions");
            repo.versions(name).forEach(v -> versions.add(SkillsJson.version(v, false)));
        }
        sendJson(x, 200, body);
    }

    /** {@code ?path=P}: one file of a version as stored, for a reviewer ({@link SkillsJson#file}). */
    private void file(Exchange x) {
        caller(x);
        for (String q : x.queryNames()) {
            if (!q.equals("path")) throw ApiException.invalid(q, q + ": unknown parameter (expected path)");
        }
        String path = x.query("path");
        if (path == null || path.isEmpty()) throw ApiException.invalid("path", "path: required, a file of the skill such as SKILL.md");
        String name = x.pathParam("name");
        String hash = x.pathParam("hash");
        sendJson(x, 200, SkillsJson.file(repo.show(name, hash), path, repo.file(name, hash, path)));
    }

    /** {@code {"decision": "approve"|"reject", "note": "..."}}. */
    private void review(Exchange x) throws IOException {
        Caller c = caller(x);
        noQuery(x);
        JsonNode in = parseJsonObject(api.body(x));
        fields(in, Set.of("decision", "note"));
        String decision = HttpApi.text(in, "decision", null);
        if (!"approve".equals(decision) && !"reject".equals(decision)) {
            throw ApiException.invalid("decision", "decision: expected 'approve' or 'reject'; got '" + clip(decision, 40) + "'");
        }
        sendJson(x, 200, SkillsJson.version(repo.review(x.pathParam("name"), x.pathParam("hash"), decision.equals("approve"),
                HttpApi.text(in, "note", null), c), false));
    }

    private void installs(Exchange x) {
        Caller c = caller(x);
        for (String q : x.queryNames()) {
            if (!q.equals("scope")) throw ApiException.invalid(q, q + ": unknown parameter (expected scope)");
        }
        String scope = x.query("scope");
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        repo.installs(scope == null ? null : Scope.parse(scope), c).forEach(i -> data.add(SkillsJson.install(i)));
        sendJson(x, 200, body);
    }

    /** {@code {"name", "hash" (optional for an install: the newest approved), "scope"}}. */
    private void install(Exchange x, boolean pin) throws IOException {
        Caller c = caller(x);
        noQuery(x);
        JsonNode in = parseJsonObject(api.body(x));
        fields(in, Set.of("name", "hash", "scope"));
        String name = HttpApi.text(in, "name", null);
        if (name == null) throw ApiException.invalid("name", "name: required (the skill's name)");
        String hash = HttpApi.text(in, "hash", null);
        if (pin && hash == null) throw ApiException.invalid("hash", "hash: required to pin (the approved version to move to)");
        Scope scope = Scope.parse(HttpApi.text(in, "scope", null));
        var i = pin ? repo.pin(name, hash, scope, c) : repo.install(name, hash, scope, c);
        sendJson(x, pin ? 200 : 201, SkillsJson.install(i));
    }

    private void remove(Exchange x) {
        Caller c = caller(x);
        noQuery(x);
        Scope scope = Scope.parse(x.pathParam("scope"));
        repo.remove(x.pathParam("name"), scope, c);
        sendJson(x, 200, JSON.createObjectNode().put("scope", scope.toString()).put("name", x.pathParam("name")).put("removed", true));
    }

    private static void fields(JsonNode in, Set<String> allowed) {
        for (var it = in.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw ApiException.invalid(f, clip(f, 60) + ": unknown field (expected " + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
            }
        }
    }
}
