package dev.carapace.agent.tools;

import java.util.Set;

/**
 * The names of the tools Carapace itself provides: what an agent's {@code tools:} list may name. The config is
 * checked against these; the composition root registers the tools themselves (and must register every one).
 */
public final class BuiltinTools {

    private BuiltinTools() {}

    /** read, write, edit, list, glob, grep (see {@link FileTools}). exec and web_fetch join here when they land. */
    public static final Set<String> NAMES = Set.of("read", "write", "edit", "list", "glob", "grep");
}
