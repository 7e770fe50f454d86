package dev.carapace.agent.tools;

import dev.carapace.agent.FileAccess;
import dev.carapace.agent.FileGate;
import dev.carapace.fs.PathException;
import dev.carapace.fs.RealPaths;
import dev.carapace.text.Invisible;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The agent's workspace as the file tools see it: the only directory tree they may read or write. It turns a path
 * the model supplied into a real path inside the workspace, or refuses with a message the model may see.
 *
 * <p>One file near 600 lines on purpose: a sixth of it is this comment, and every operation (resolve, open, list,
 * walk, write) goes through the same descriptor-relative, no-follow descent from the root and the same gate, so the
 * race defences below read best side by side; splitting them would put the checks apart from the I/O they guard.
 * What is not that descent lives elsewhere: making missing parents is {@link DirectoryMaker}'s, the rest the tools'.
 *
 * <h2>Resolution</h2>
 * A model path must be relative, non-empty, free of NUL bytes and at most {@value #MAX_PATH_CHARS} characters. It
 * is refused if it escapes lexically ({@code ../x}, {@code a/../../x}), then resolved by the guard's one canonicaliser,
 * {@link RealPaths}, confined to the workspace: a symlink inside pointing inside is fine, one pointing outside
 * (directly, through other links, or through {@code /proc/self/root}) is refused naming the link, and the walk never
 * continues from outside. The policy decides on the same canonicaliser's result, so the path judged is the path
 * opened. Dangling symlinks and symlink loops are refused.
 *
 * <h2>Symlinks and writes</h2>
 * A write to a path that is (or goes through) a symlink whose target is inside the workspace writes the target: the
 * link itself is never replaced, and a target outside is never reached. That is safe because the write happens at the
 * resolved real path, reached without following links (below); refusing such links would only break ordinary
 * workspaces (e.g. {@code current -> releases/3}). A dangling symlink is refused even when it points inside: which
 * file it would create cannot be checked without following it.
 *
 * <h2>Hard links</h2>
 * A regular file with more than one link is refused for reading and writing: its other name may be a secret outside
 * the workspace, and there is no way to tell where it is. (This also refuses hard-link farms such as pnpm stores.)
 *
 * <h2>Races (TOCTOU): what is defended</h2>
 * A process sharing the workspace (e.g. an exec tool running in parallel) may swap a checked directory or file for a
 * symlink between the check and the use. The I/O therefore does not reuse the checked path string: it starts from
 * a directory descriptor of the workspace root and opens every directory of the real path with {@code openat(...,
 * O_NOFOLLOW)} ({@link SecureDirectoryStream#newDirectoryStream} with {@code NOFOLLOW_LINKS}), then the file itself
 * with {@code O_NOFOLLOW}. Since the real path has no symlinks, a swapped-in symlink makes the open fail instead of
 * leaving the workspace. Before and after opening a file its identity (device + inode) is compared via {@code
 * fstatat} relative to the directory descriptor, and the hard-link count is checked against the same identity.
 * Writes never write into an existing file: they create a fresh temporary file ({@code O_CREAT|O_EXCL|O_NOFOLLOW})
 * in the already opened directory and {@code renameat} it over the name, so a name swapped for a symlink or hard
 * link just before the rename is replaced, and the file outside is left untouched. Missing parent directories are
 * created with {@code mkdirat} relative to a descriptor of their parent, opened the same no-follow way
 * ({@link DirectoryMaker}), so a swap cannot make them appear outside.
 *
 * <h2>The file gate</h2>
 * Every real path is put to the {@link FileGate} right before it is opened, listed or created; since the open then
 * walks exactly that real path without following links, the object opened is the object judged. A walk (grep,
 * glob) skips and counts what the gate refuses, and never shows or enters it, so a tool added later that reaches
 * files only through this class obeys the file rules by construction.
 *
 * <h2>Races: what is not defended</h2>
 * <ul>
 *   <li>The identity check around {@code open} compares names, not the descriptor (Java cannot {@code fstat} a
 *       channel): swapping a file away and back (A-B-A) within that window is not detected.</li>
 *   <li>A name swapped for a FIFO between the type check and the open can block the call (it cannot leak).</li>
 *   <li>Bind mounts inside the workspace are not detected; creating them needs privileges the agent must not have.</li>
 * </ul>
 * Confinement never relies on file permissions (the gateway may run as root).
 */
public final class Workspace {

    /** The longest path, in characters, a model may supply. */
    public static final int MAX_PATH_CHARS = 4096;

    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
    private static final int MAX_DEPTH = 64;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path root;
    private final FileGate gate;
    private final String tool;
    private PosixFileAttributes rootAttributes;   // read on first write

    /** A workspace its callers are confined to, without any further file rule. @param root it must exist */
    public Workspace(Path root) throws IOException {
        this(root, FileGate.WORKSPACE, "workspace");
    }

    /**
     * @param root the workspace directory; it must exist
     * @param gate asked on every real path before it is opened, listed or created
     * @param tool the calling tool's name, for the gate
     */
    public Workspace(Path root, FileGate gate, String tool) throws IOException {
        Path real = root.toRealPath();
        if (!Files.isDirectory(real, NOFOLLOW)) throw new NotDirectoryException(root.toString());
        if (real.getParent() == null) throw new IOException("the file system root cannot be a workspace");
        this.root = real;
        this.gate = Objects.requireNonNull(gate, "gate");
        this.tool = tool;
    }

    /** The real path of the workspace root. */
    public Path root() {
        return root;
    }

    /**
     * Creates or replaces the file at {@code path} (relative to the root) with {@code data}, making missing folders,
     * for a caller that is not a model's tool (a channel saving a message's files) with a tool's guarantees: no link
     * followed, each folder made relative to its parent's descriptor, what is made owned as the root is.
     */
    public void writeFile(String path, byte[] data) throws IOException, WorkspaceException {
        writeAtomically(resolveForWrite(path), data, null);
    }

    /**
     * A model path resolved inside the workspace.
     *
     * @param shown  the path as the model gave it, normalized (for messages; {@code .} for the root)
     * @param real   where it really is: no symlinks, inside {@link #root()}
     * @param exists whether {@code real} existed when resolved
     */
    public record Target(String shown, Path real, boolean exists) {}

    /** Resolves a path that must exist: a directory, or a regular file without other hard links. */
    public Target resolveForRead(String path) throws WorkspaceException {
        Target t = resolve(path);
        if (!t.exists()) throw new WorkspaceException(quote(t.shown()) + " does not exist");
        checkExisting(t, false);
        return t;
    }

    /** Resolves a path to create or replace: absent, or a regular file without other hard links. */
    public Target resolveForWrite(String path) throws WorkspaceException {
        Target t = resolve(path);
        // A name made here is shown to people (approvals, audit, listings, terminals): none that reads as something else.
        if (path.codePoints().anyMatch(Invisible::is)) {
            throw new WorkspaceException("path has a control, format or other invisible character (an escape, CR, a bidi"
                    + " override, a zero-width space); a new file's name may not");
        }
        if (t.exists()) checkExisting(t, true);
        return t;
    }

    /** The path of a real path inside the workspace, relative to the root ({@code .} for the root). */
    public String relative(Path real) {
        if (real.equals(root)) return ".";
        return root.relativize(real).toString();
    }

    /**
     * Asks the gate about a real path about to be touched: the last step before the no-follow open of exactly that
     * path, so a path swapped after this makes the open fail rather than reach something unjudged.
     */
    void admit(Path real, FileAccess access, String shown) throws WorkspaceException {
        String why = gate.refusal(tool, real, access);
        if (why != null) throw WorkspaceException.byPolicy(quote(shown) + " is denied by policy: " + why);
    }

    /** Whether the gate lets {@code real} be touched; for walks, which skip what it refuses. */
    boolean admits(Path real, FileAccess access) {
        return gate.refusal(tool, real, access) == null;
    }

    /** Resolves without checking what the path names (symlinks are still checked, hard links are not). */
    Target resolve(String raw) throws WorkspaceException {
        if (raw == null || raw.isEmpty()) throw new WorkspaceException("path is empty; give a path relative to the workspace");
        if (raw.indexOf('\0') >= 0) throw new WorkspaceException("path contains a NUL byte");
        if (raw.length() > MAX_PATH_CHARS) {
            throw new WorkspaceException("path is longer than " + MAX_PATH_CHARS + " characters");
        }
        if (raw.startsWith("/")) {
            // The path is not echoed: it names something outside.
            throw new WorkspaceException("absolute paths are not allowed; give a path relative to the workspace");
        }
        Path rel;
        try {
            rel = root.getFileSystem().getPath(raw);
        } catch (InvalidPathException e) {
            throw new WorkspaceException("path " + quote(raw) + " is not valid");
        }
        if (rel.isAbsolute() || rel.getRoot() != null) {
            throw new WorkspaceException("absolute paths are not allowed; give a path relative to the workspace");
        }
        Path normal = rel.normalize();
        if (normal.startsWith("..")) throw escapes(raw);
        String shown = normal.toString().isEmpty() ? "." : normal.toString();
        try {
            RealPaths.Resolved r = RealPaths.resolve(root, rel, root, raw);
            return new Target(shown, r.real(), r.exists());
        } catch (PathException e) {
            throw new WorkspaceException(e.getMessage());
        }
    }

    private void checkExisting(Target t, boolean forWrite) throws WorkspaceException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(t.real(), "unix:isRegularFile,isDirectory,nlink", NOFOLLOW);
        } catch (IOException e) {
            throw new WorkspaceException(quote(t.shown()) + " cannot be examined (" + describe(e) + ")");
        }
        if (Boolean.TRUE.equals(a.get("isDirectory"))) {
            if (forWrite) throw new WorkspaceException(quote(t.shown()) + " is a directory");
            return;
        }
        if (!Boolean.TRUE.equals(a.get("isRegularFile"))) {
            throw new WorkspaceException(quote(t.shown()) + " is not a regular file");
        }
        if (((Number) a.get("nlink")).longValue() > 1) throw hardLinks(t.shown());
    }

    // ---------------------------------------------------------------------------------------------------------
    // Confined I/O: descriptors from the root down, O_NOFOLLOW all the way.

    /** Identity and state of a regular file, to notice that it changed between reading and writing. */
    record Version(Object fileKey, long size, FileTime modified) {
        static Version of(BasicFileAttributes a) {
            return new Version(a.fileKey(), a.size(), a.lastModifiedTime());
        }
    }

    /** A regular file opened for reading, confined as described above. */
    record OpenFile(SeekableByteChannel channel, Version version) implements Closeable {
        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** Opens a resolved regular file for reading. */
    OpenFile openRead(Target t) throws IOException, WorkspaceException {
        List<String> names = names(t.real());
        if (names.isEmpty()) throw new WorkspaceException(quote(t.shown()) + " is a directory");
        try (SecureDirectoryStream<Path> dir = openDirectory(names.subList(0, names.size() - 1), t.shown(), false)) {
            return openIn(dir, path(names.get(names.size() - 1)), t.real(), t.shown());
        }
    }

    /**
     * Opens the regular file {@code name} of an open directory: refuses symlinks, non-regular files and files with
     * other hard links, and checks that the opened name still is the file that was checked.
     *
     * @param abs the real path of the same file, for the link count
     */
    OpenFile openIn(SecureDirectoryStream<Path> dir, Path name, Path abs, String shown)
            throws IOException, WorkspaceException {
        admit(abs, FileAccess.READ, shown);
        BasicFileAttributes before = attributes(dir, name, BasicFileAttributeView.class, shown).readAttributes();
        if (before.isSymbolicLink()) throw changed(shown);
        if (before.isDirectory()) throw new WorkspaceException(quote(shown) + " is a directory");
        if (!before.isRegularFile()) throw new WorkspaceException(quote(shown) + " is not a regular file");
        checkSingleLink(abs, before.fileKey(), shown);
        SeekableByteChannel channel;
        try {
            channel = dir.newByteChannel(name, Set.of(StandardOpenOption.READ, NOFOLLOW));
        } catch (NoSuchFileException e) {
            throw changed(shown);
        } catch (FileSystemException e) {
            if (isLoop(e)) throw changed(shown); // O_NOFOLLOW met a symlink
            throw e;
        }
        try {
            BasicFileAttributes after = attributes(dir, name, BasicFileAttributeView.class, shown).readAttributes();
            if (!Objects.equals(before.fileKey(), after.fileKey()) || !after.isRegularFile()) throw changed(shown);
            return new OpenFile(channel, Version.of(after));
        } catch (IOException | WorkspaceException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** Opens a resolved directory for listing. */
    SecureDirectoryStream<Path> openDirectory(Target t) throws IOException, WorkspaceException {
        admit(t.real(), FileAccess.LIST, t.shown());
        return openDirectory(names(t.real()), t.shown(), false);
    }

    /**
     * Replaces (or creates) a resolved file with {@code data}: temporary file in the same directory, then an atomic
     * rename. Missing parent directories are created. What is created takes the owner and group of the workspace
     * root (a replaced file keeps its own), so a sandbox running as the workspace's owner can still change it.
     *
     * @param expected if not null, the file must still be this version (an edit of what was read)
     */
    void writeAtomically(Target t, byte[] data, Version expected) throws IOException, WorkspaceException {
        List<String> names = names(t.real());
        if (names.isEmpty()) throw new WorkspaceException(quote(t.shown()) + " is a directory");
        admit(t.real(), FileAccess.WRITE, t.shown());
        Path name = path(names.get(names.size() - 1));
        try (SecureDirectoryStream<Path> dir = openDirectory(names.subList(0, names.size() - 1), t.shown(), true)) {
            PosixFileAttributes existing = checkReplaceable(dir, name, t, expected);
            FileAttribute<?>[] attrs = existing == null ? new FileAttribute<?>[0]
                    : new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(existing.permissions())};
            byte[] random = new byte[8];
            RANDOM.nextBytes(random);
            Path temp = path(".carapace-" + HexFormat.of().formatHex(random) + ".tmp");
            Set<OpenOption> options = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, NOFOLLOW);
            boolean moved = false;
            try {
                try (SeekableByteChannel out = dir.newByteChannel(temp, options, attrs)) {
                    ByteBuffer buffer = ByteBuffer.wrap(data);
                    while (buffer.hasRemaining()) out.write(buffer);
                    if (out instanceof FileChannel file) file.force(true);
                }
                PosixFileAttributeView made = attributes(dir, temp, PosixFileAttributeView.class, t.shown());
                if (existing == null) giveToOwner(made);
                else giveTo(made, existing.owner(), existing.group());
                checkReplaceable(dir, name, t, expected); // again, as late as possible
                dir.move(temp, dir, name);                 // renameat: replaces the name, never writes through it
                moved = true;
            } finally {
                if (!moved) {
                    try {
                        dir.deleteFile(temp);
                    } catch (IOException ignored) {
                        // nothing more to do
                    }
                }
            }
        }
    }

    private PosixFileAttributes checkReplaceable(SecureDirectoryStream<Path> dir, Path name, Target t, Version expected)
            throws IOException, WorkspaceException {
        PosixFileAttributes a;
        try {
            a = attributes(dir, name, PosixFileAttributeView.class, t.shown()).readAttributes();
        } catch (NoSuchFileException e) {
            if (expected != null) throw new WorkspaceException(quote(t.shown()) + " was removed while being edited");
            return null;
        }
        if (a.isSymbolicLink()) throw changed(t.shown());
        if (a.isDirectory()) throw new WorkspaceException(quote(t.shown()) + " is a directory");
        if (!a.isRegularFile()) throw new WorkspaceException(quote(t.shown()) + " is not a regular file");
        checkSingleLink(t.real(), a.fileKey(), t.shown());
        if (expected != null && !expected.equals(Version.of(a))) {
            throw new WorkspaceException(quote(t.shown()) + " changed while being edited; read it again");
        }
        return a;
    }

    /** What {@link #walk} found: one entry of a directory, valid during the visit only. */
    interface Visitor {
        /**
         * @param name     the entry's name in {@code dir}
         * @param abs      its real path (no symlinks above it)
         * @param path     its path relative to the workspace root
         * @param fromBase its path relative to the directory walked
         * @return false to stop the walk
         */
        boolean visit(SecureDirectoryStream<Path> dir, Path name, Path abs, String path, String fromBase,
                      BasicFileAttributes attrs) throws IOException, WorkspaceException, InterruptedException;
    }

    /** Limits and outcome of a walk. */
    static final class Walk {
        final Deadline deadline;
        final int maxEntries;
        int entries;
        /** entries the gate refused: not visited, not entered */
        int denied;
        boolean truncated;
        boolean timedOut;

        Walk(Deadline deadline, int maxEntries) {
            this.deadline = deadline;
            this.maxEntries = maxEntries;
        }
    }

    /**
     * Visits everything under a resolved directory, depth first, names sorted, never following symlinks (a
     * symlink is visited as itself). Directories are entered with {@code O_NOFOLLOW} relative to their parent. An
     * entry the gate refuses to list is skipped with everything under it, and counted in {@link Walk#denied}.
     */
    void walk(Target base, Walk walk, Visitor visitor) throws IOException, WorkspaceException, InterruptedException {
        try (SecureDirectoryStream<Path> dir = openDirectory(base)) {
            String prefix = relative(base.real());
            walk(dir, base.real(), prefix.equals(".") ? "" : prefix, "", 0, walk, visitor);
        }
    }

    private boolean walk(SecureDirectoryStream<Path> dir, Path abs, String path, String fromBase, int depth, Walk walk,
                         Visitor visitor) throws IOException, WorkspaceException, InterruptedException {
        List<Path> names = new ArrayList<>();
        try {
            for (Path p : dir) {
                names.add(p.getFileName());
                if (names.size() > walk.maxEntries) break;
            }
        } catch (DirectoryIteratorException e) {
            return true; // unreadable directory: skip it
        }
        names.sort(Comparator.comparing(Path::toString));
        for (Path name : names) {
            if (Thread.interrupted()) throw new InterruptedException();
            if (walk.deadline.passed()) {
                walk.timedOut = true;
                return false;
            }
            if (walk.entries >= walk.maxEntries) {
                walk.truncated = true;
                return false;
            }
            walk.entries++;
            String n = name.toString();
            BasicFileAttributes attrs;
            try {
                attrs = dir.getFileAttributeView(name, BasicFileAttributeView.class, NOFOLLOW).readAttributes();
            } catch (IOException e) {
                continue; // vanished
            }
            String childPath = path.isEmpty() ? n : path + "/" + n;
            String childFromBase = fromBase.isEmpty() ? n : fromBase + "/" + n;
            Path childAbs = abs.resolve(name);
            if (!admits(childAbs, FileAccess.LIST)) {
                walk.denied++; // neither shown nor entered: its name and what is under it stay hidden
                continue;
            }
            if (!visitor.visit(dir, name, childAbs, childPath, childFromBase, attrs)) return false;
            if (attrs.isDirectory() && depth + 1 < MAX_DEPTH) {
                SecureDirectoryStream<Path> child;
                try {
                    child = dir.newDirectoryStream(name, NOFOLLOW);
                } catch (IOException e) {
                    continue; // replaced or unreadable: skip
                }
                try (child) {
                    if (!walk(child, childAbs, childPath, childFromBase, depth + 1, walk, visitor)) return false;
                }
            }
        }
        return true;
    }

    /**
     * Opens the directory at root/names..., each name with O_NOFOLLOW relative to its parent's descriptor. With
     * {@code create}, missing directories are first made by {@link DirectoryMaker} (descriptor-relative, each one
     * admitted by the gate), then the walk is done again; whatever changed in between makes it fail.
     */
    private SecureDirectoryStream<Path> openDirectory(List<String> names, String shown, boolean create)
            throws IOException, WorkspaceException {
        SecureDirectoryStream<Path> dir = openExisting(names, shown, null);
        if (dir != null) return dir;
        if (!create) throw changed(shown);
        BitSet created = DirectoryMaker.ensure(root, names, shown, abs -> admit(abs, FileAccess.WRITE, shown));
        dir = openExisting(names, shown, created);
        if (dir == null) throw changed(shown);
        return dir;
    }

    /**
     * The walk of {@link #openDirectory}; null if a name does not exist.
     *
     * @param created indexes of names just created, to give to the workspace's owner (null: none)
     */
    private SecureDirectoryStream<Path> openExisting(List<String> names, String shown, BitSet created)
            throws IOException, WorkspaceException {
        DirectoryStream<Path> top = Files.newDirectoryStream(root);
        if (!(top instanceof SecureDirectoryStream<Path> current)) {
            top.close();
            throw new WorkspaceException("file tools need a platform with secure directory streams (Linux)");
        }
        try {
            for (int i = 0; i < names.size(); i++) {
                SecureDirectoryStream<Path> next;
                try {
                    next = current.newDirectoryStream(path(names.get(i)), NOFOLLOW);
                } catch (NoSuchFileException e) {
                    current.close();
                    return null;
                } catch (FileSystemException e) {
                    // ELOOP (a symlink now), ENOTDIR (a file now), ...
                    throw changed(shown);
                }
                current.close();
                current = next;
                if (created != null && created.get(i)) {
                    // fchown on the directory's own descriptor: the very directory just opened, not a path
                    giveToOwner(attributes(current, PosixFileAttributeView.class, shown));
                }
            }
            return current;
        } catch (IOException | WorkspaceException | RuntimeException e) {
            current.close();
            throw e;
        }
    }

    /** Gives a file or directory this call created the workspace root's owner and group, if it has others. */
    private void giveToOwner(PosixFileAttributeView view) throws IOException {
        if (rootAttributes == null) rootAttributes = Files.readAttributes(root, PosixFileAttributes.class, NOFOLLOW);
        giveTo(view, rootAttributes.owner(), rootAttributes.group());
    }

    private static void giveTo(PosixFileAttributeView view, UserPrincipal owner, GroupPrincipal group)
            throws IOException {
        PosixFileAttributes now = view.readAttributes();
        try {
            if (!now.owner().equals(owner)) view.setOwner(owner);
            if (!now.group().equals(group)) view.setGroup(group);
        } catch (FileSystemException e) {
            // Not privileged to give files away (a gateway not running as root): they stay the gateway's, which
            // is then the only user the workspace can have been shared with.
        }
    }

    private void checkSingleLink(Path abs, Object fileKey, String shown) throws WorkspaceException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(abs, "unix:fileKey,nlink", NOFOLLOW);
        } catch (IOException e) {
            throw changed(shown);
        }
        // The path-based look must see the very file the descriptor-based look saw.
        if (fileKey == null || !fileKey.equals(a.get("fileKey"))) throw changed(shown);
        if (((Number) a.get("nlink")).longValue() > 1) throw hardLinks(shown);
    }

    /** The attributes of an open directory itself, through its descriptor. */
    private static <V extends BasicFileAttributeView> V attributes(SecureDirectoryStream<Path> dir, Class<V> type,
                                                                  String shown) throws WorkspaceException {
        V view = dir.getFileAttributeView(type);
        if (view == null) throw new WorkspaceException(quote(shown) + ": file attributes are not supported here");
        return view;
    }

    private static <V extends BasicFileAttributeView> V attributes(SecureDirectoryStream<Path> dir, Path name,
                                                                  Class<V> type, String shown) throws WorkspaceException {
        V view = dir.getFileAttributeView(name, type, NOFOLLOW);
        if (view == null) throw new WorkspaceException(quote(shown) + ": file attributes are not supported here");
        return view;
    }

    /** The names from the root down to {@code real}; refuses anything not plainly below the root. */
    private List<String> names(Path real) throws WorkspaceException {
        List<String> names = new ArrayList<>();
        if (real.equals(root)) return names;
        if (!real.isAbsolute() || !real.startsWith(root)) throw new WorkspaceException("path escapes the workspace");
        for (Path p : root.relativize(real)) {
            String name = p.toString();
            // Defence in depth: resolution never produces these, and openat would follow "..".
            if (name.isEmpty() || name.equals(".") || name.equals("..")) {
                throw new WorkspaceException("path escapes the workspace");
            }
            names.add(name);
        }
        return names;
    }

    private Path path(String name) {
        return root.getFileSystem().getPath(name);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Messages

    private static WorkspaceException escapes(String raw) {
        return new WorkspaceException(RealPaths.escapes(raw).getMessage());
    }

    private static WorkspaceException hardLinks(String shown) {
        return new WorkspaceException(quote(shown)
                + " has other hard links; refused, since another name of it may be outside the workspace");
    }

    private static WorkspaceException changed(String shown) {
        return new WorkspaceException(quote(shown) + " changed while being opened; refused");
    }

    private static boolean isLoop(FileSystemException e) {
        return RealPaths.isLoop(e);
    }

    /** A short, path-free description of an I/O failure. */
    static String describe(IOException e) {
        return RealPaths.describe(e);
    }

    /** The model's own path, quoted and shortened for a message. */
    static String quote(String path) {
        return RealPaths.quote(path);
    }
}
