package dev.carapace.skill.repo;

/**
 * A request the repository refuses, with what was wrong and where ({@code field}); the API answers it in its error
 * shape with the status its {@link Kind} names, the CLI prints the message.
 */
public final class SkillRepoException extends RuntimeException {

    /** What kind of refusal: the HTTP status the API gives it. */
    public enum Kind {
        /** 400: the request is malformed (a bad name, scope, hash, archive). */
        INVALID,
        /** 403: the caller may not do this. */
        FORBIDDEN,
        /** 404: no such skill, version or install. */
        NOT_FOUND,
        /** 409: the state forbids it (installing a version not approved). */
        CONFLICT,
        /** 413: the upload or the skill is larger than the repository takes. */
        TOO_LARGE
    }

    private final Kind kind;
    private final String field;

    public SkillRepoException(Kind kind, String field, String message) {
        super(message, null, false, false);
        this.kind = kind;
        this.field = field;
    }

    public Kind kind() { return kind; }

    /** The field or parameter at fault, or null. */
    public String field() { return field; }
}
