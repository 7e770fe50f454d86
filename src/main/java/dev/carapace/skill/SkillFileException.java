package dev.carapace.skill;

/** A skill's file that cannot be read as asked: the message says why and may be shown to a model (no secrets). */
public final class SkillFileException extends Exception {
    public SkillFileException(String message) {
        super(message, null, false, false);
    }
}
