package dev.carapace.server.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.skill.SkillText;
import dev.carapace.skill.repo.SkillRepository.Version;
import dev.carapace.skill.repo.VersionStore.Install;
import dev.carapace.skill.scan.Finding;

import static dev.carapace.server.json.AgentJson.JSON;

/** The org skill repository's JSON shapes, shared by {@code /api/skills} and {@code carapace skills --json}. */
public final class SkillsJson {

    private SkillsJson() {}

    /**
     * One file of a version for a reviewer: its text with hidden characters written out ({@code \}{@code uXXXX}), or
     * {@code "binary": true} and no text when it is not what the {@code skill} tool would serve as text.
     */
    public static ObjectNode file(Version v, String path, byte[] bytes) {
        String text = SkillText.servable(bytes);
        return JSON.createObjectNode().put("name", v.name()).put("hash", v.hash()).put("state", v.state().label())
                .put("path", path).put("bytes", bytes.length).put("binary", text == null)
                .put("text", text == null ? null : SkillText.reviewable(text));
    }

    /** A version: its review, its findings, and with {@code files} its file list. */
    public static ObjectNode version(Version v, boolean files) {
        var s = v.stored();
        ObjectNode n = JSON.createObjectNode().put("name", s.name()).put("hash", s.hash()).put("state", s.state().label())
                .put("blocking", s.blocking()).put("publisher", s.publisher()).put("published_at", s.publishedAt().toString())
                .put("reviewer", s.reviewer()).put("decided_at", s.decidedAt() == null ? null : s.decidedAt().toString())
                .put("note", s.note()).put("file_count", s.fileCount()).put("total_bytes", s.totalBytes());
        try {
            n.set("summary", JSON.readTree(s.summary()));
        } catch (Exception e) {
            n.putNull("summary");
        }
        var fs = n.putArray("findings");
        for (Finding f : v.findings()) fs.add(finding(f));
        if (files && s.files() != null) {
            var list = n.putArray("files");
            s.files().forEach((path, bytes) -> list.addObject().put("path", path).put("bytes", bytes.length));
        }
        return n;
    }

    public static ObjectNode finding(Finding f) {
        return JSON.createObjectNode().put("rule", f.rule()).put("severity", f.severity().label()).put("file", f.file())
                .put("line", f.line()).put("excerpt", f.excerpt()).put("meaning", f.meaning());
    }

    public static JsonNode install(Install i) {
        return JSON.createObjectNode().put("scope", i.scope().toString()).put("name", i.name()).put("hash", i.hash())
                .put("installed_by", i.installedBy()).put("installed_at", i.installedAt().toString());
    }
}
