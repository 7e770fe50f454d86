package dev.carapace.skill;

import java.util.List;

/**
 * The files of one skill, read on demand: a folder on disk ({@link FolderSkillFiles}) or, for the org repository,
 * the files of a stored version. Paths are relative to the skill, {@code /}-separated; a path that would leave the
 * skill (absolute, {@code ..}, a symlink out, NUL, percent-encoded) is refused by every implementation.
 */
public interface SkillFiles {

    /** Every regular file of the skill, {@code SKILL.md} included, sorted; symlinks are not listed. */
    List<String> list() throws SkillFileException;

    /**
     * The bytes of one file.
     *
     * @param maxBytes a file larger than this is refused, not cut
     */
    byte[] read(String path, int maxBytes) throws SkillFileException;

    /** Where the files are, for operators (a folder's path, {@code org:NAME@HASH}); never shown to a model. */
    String location();
}
