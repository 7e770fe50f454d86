package dev.carapace.agent.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

/** Runs file tools against a workspace directory, and snapshots directory trees byte for byte. */
final class ToolHarness {

    static final ObjectMapper JSON = new ObjectMapper();

    private ToolHarness() {}

    static AgentTool tool(String name) {
        return FileTools.all().stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }

    static ToolContext context(Path workspace) {
        return context(workspace, 64 * 1024, Duration.ofSeconds(10));
    }

    static ToolContext context(Path workspace, int maxOutputBytes, Duration timeout) {
        return new ToolContext("agent-1", "session-1", workspace, timeout, maxOutputBytes);
    }

    static JsonNode json(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(json, e);
        }
    }

    /** Runs {@code tool} with arguments built from alternating names and values. */
    static ToolResult run(Path workspace, String tool, Object... nameValues) throws InterruptedException {
        return run(context(workspace), tool, nameValues);
    }

    static ToolResult run(ToolContext context, String tool, Object... nameValues) throws InterruptedException {
        var args = JSON.createObjectNode();
        for (int i = 0; i < nameValues.length; i += 2) args.set((String) nameValues[i], JSON.valueToTree(nameValues[i + 1]));
        return tool(tool).run(args, context);
    }

    /** Every file, directory and symlink under {@code dir} (not following links), with contents / targets. */
    static Map<String, String> snapshot(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                out.put(dir.relativize(d) + "/", "dir");
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                String value = attrs.isSymbolicLink() ? "link:" + Files.readSymbolicLink(f)
                        : attrs.isRegularFile() ? "file:" + java.util.HexFormat.of().formatHex(Files.readAllBytes(f))
                        : "other";
                out.put(dir.relativize(f).toString(), value);
                return FileVisitResult.CONTINUE;
            }
        });
        return out;
    }
}
