package dev.carapace.guard.egress;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Named secrets the egress proxy may inject into requests, by reference: {@code env:VAR} (an environment variable of
 * the gateway) or {@code file:/abs/path} (a file, one trailing newline dropped). Values are read when a request needs
 * them, never before and never cached, so a rotated file takes effect on the next request. No value ever appears in
 * {@link #toString}, an exception message or a log line; agents never see this store, only its effect on the wire.
 */
public final class SecretStore {

    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]{0,63}");
    private static final Pattern ENV = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final int MAX_FILE_BYTES = 64 * 1024;

    private final Map<String, String> references;
    private final Function<String, String> env;

    private SecretStore(Map<String, String> references, Function<String, String> env) {
        this.references = references;
        this.env = env;
    }

    /** A store with no secrets. */
    public static SecretStore empty() {
        return new SecretStore(Map.of(), name -> null);
    }

    /**
     * @param references secret name to reference ({@code env:VAR} or {@code file:/abs/path})
     * @param env        reads an environment variable ({@code System::getenv} in production)
     * @throws IllegalArgumentException naming the secret whose name or reference is malformed
     */
    public static SecretStore of(Map<String, String> references, Function<String, String> env) {
        Map<String, String> checked = new LinkedHashMap<>();
        references.forEach((name, ref) -> {
            String problem = problem(name, ref);
            if (problem != null) throw new IllegalArgumentException(problem);
            checked.put(name, ref);
        });
        return new SecretStore(Collections.unmodifiableMap(checked), Objects.requireNonNull(env, "env"));
    }

    /**
     * What is wrong with one entry, in words for a config error (never echoing the reference's value beyond its
     * kind), or null if it is well formed.
     */
    public static String problem(String name, String reference) {
        if (name == null || !NAME.matcher(name).matches()) {
            return "secret name '" + name + "' must be letters, digits, '_', '.' or '-', starting with a letter or '_'";
        }
        if (reference == null) return "secret '" + name + "' has no reference; write env:VAR or file:/absolute/path";
        if (reference.startsWith("env:")) {
            return ENV.matcher(reference.substring(4)).matches() ? null
                    : "secret '" + name + "': env: must be followed by an environment variable name";
        }
        if (reference.startsWith("file:")) {
            return Path.of(reference.substring(5)).isAbsolute() ? null
                    : "secret '" + name + "': file: must be followed by an absolute path";
        }
        return "secret '" + name + "' must be a reference, env:VAR or file:/absolute/path (secret values are never "
                + "written in the config)";
    }

    /** The names of the secrets, in configuration order. */
    public Set<String> names() {
        return references.keySet();
    }

    public boolean has(String name) {
        return references.containsKey(name);
    }

    /**
     * The secret's value, read now: for the proxy's injection, and for the parts of Carapace that authenticate
     * themselves to a service (a channel's mail password or bot token), which must not keep or show it.
     *
     * @throws Unavailable saying which secret and which reference (not the value) failed
     */
    public String value(String name) throws Unavailable {
        String ref = references.get(name);
        if (ref == null) throw new Unavailable("secret '" + name + "' is not in the secret store");
        if (ref.startsWith("env:")) {
            String value = env.apply(ref.substring(4));
            if (value == null || value.isEmpty()) {
                throw new Unavailable("secret '" + name + "': environment variable " + ref.substring(4) + " is not set");
            }
            return value;
        }
        Path file = Path.of(ref.substring(5));
        try {
            if (Files.size(file) > MAX_FILE_BYTES) {
                throw new Unavailable("secret '" + name + "': file " + file + " is larger than " + MAX_FILE_BYTES + " bytes");
            }
            String value = Files.readString(file, StandardCharsets.UTF_8);
            if (value.endsWith("\n")) value = value.substring(0, value.length() - 1);
            if (value.endsWith("\r")) value = value.substring(0, value.length() - 1);
            if (value.isEmpty()) throw new Unavailable("secret '" + name + "': file " + file + " is empty");
            return value;
        } catch (IOException e) {
            throw new Unavailable("secret '" + name + "': file " + file + " cannot be read ("
                    + e.getClass().getSimpleName() + ")");
        }
    }

    @Override
    public String toString() {
        return "SecretStore" + references.keySet() + " (values redacted)";
    }

    /** A secret could not be read; the message names the secret and its reference, never a value. */
    public static final class Unavailable extends Exception {
        Unavailable(String message) {
            super(message, null, false, false);
        }
    }
}
