package dev.carapace.channel;

import dev.carapace.agent.tools.Workspace;
import dev.carapace.agent.tools.WorkspaceException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Writes the files that came with a message into its agent's workspace, under {@code inbox/MESSAGE_ID/}, where the
 * agent's tools can read them.
 *
 * <p>The workspace is the agent's: its commands may have turned {@code inbox} into a link to anywhere, and may swap
 * it while a file is written. So the files are written the way the agent's own write tool writes
 * ({@link Workspace#writeFile}): every folder below the workspace made and opened relative to its parent's
 * descriptor, links never followed (a link where a folder or file should be fails the write), and what is made
 * owned as the workspace is, so that the agent's sandboxed commands can use it. The sender's file name is reduced to a
 * plain one first.
 */
final class WorkspaceFiles {

    static final String FOLDER = "inbox";
    private static final int MAX_NAME = 100;

    private WorkspaceFiles() {}

    /** Writes {@code files}; returns each one's path relative to the workspace, in order. */
    static List<String> save(Path workspace, String messageId, List<Attachment> files) throws IOException {
        if (files.isEmpty()) return List.of();
        Files.createDirectories(workspace);
        Workspace ws = new Workspace(workspace);
        List<String> paths = new ArrayList<>();
        Set<String> taken = new HashSet<>();
        int n = 0;
        for (Attachment a : files) {
            n++;
            String path = FOLDER + "/" + messageId + "/" + unique(safeName(a.name(), n, a.mediaType()), taken);
            try {
                ws.writeFile(path, a.data());
            } catch (WorkspaceException e) {
                throw new IOException("the message's files were not saved: " + e.getMessage(), e);
            }
            paths.add(path);
        }
        return paths;
    }

    /**
     * A file name that is safe on any file system and to show: the last segment of what the sender called it,
     * letters, digits, and {@code . _ -} and space only, no leading dot, at most 100 characters; {@code file-N.EXT}
     * when nothing is left.
     */
    static String safeName(String given, int n, String mediaType) {
        String s = given == null ? "" : Normalizer.normalize(given, Normalizer.Form.NFKC);
        int slash = Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\'));
        s = s.substring(slash + 1);
        StringBuilder sb = new StringBuilder();
        s.codePoints().forEach(cp -> {
            if (Character.isLetterOrDigit(cp) && !dev.carapace.text.Invisible.is(cp)) sb.appendCodePoint(cp);
            else if (cp == '.' || cp == '_' || cp == '-' || cp == ' ') sb.append((char) cp);
            else sb.append('_');
        });
        String name = sb.toString().strip();
        while (name.startsWith(".")) name = name.substring(1);
        if (name.codePointCount(0, name.length()) > MAX_NAME) {
            int dot = name.lastIndexOf('.');
            String ext = dot > 0 && name.length() - dot <= 10 ? name.substring(dot) : "";
            name = name.substring(0, name.offsetByCodePoints(0, MAX_NAME - ext.length())) + ext;
        }
        if (name.isEmpty() || name.chars().allMatch(c -> c == '_' || c == '.')) name = "file-" + n + extension(mediaType);
        return name;
    }

    private static String unique(String name, Set<String> taken) {
        String candidate = name;
        for (int i = 2; !taken.add(candidate.toLowerCase(java.util.Locale.ROOT)); i++) {
            int dot = name.lastIndexOf('.');
            candidate = dot > 0 ? name.substring(0, dot) + "-" + i + name.substring(dot) : name + "-" + i;
        }
        return candidate;
    }

    private static String extension(String mediaType) {
        return switch (mediaType) {
            case "image/png" -> ".png";
            case "image/jpeg" -> ".jpg";
            case "image/gif" -> ".gif";
            case "image/webp" -> ".webp";
            case "application/pdf" -> ".pdf";
            case "text/plain" -> ".txt";
            case "audio/ogg" -> ".ogg";
            case "audio/mpeg" -> ".mp3";
            case "audio/wav", "audio/x-wav" -> ".wav";
            default -> ".bin";
        };
    }
}
