-- Issue 17. The org's shared skill repository: each published version of a skill, addressed by its content hash
-- (dev.carapace.skill.SkillHash), with its files (one deterministic archive: path, length, bytes per file in path
-- order), what the scanner found and the review's decision; and the installs, each pinning one hash at a scope
-- (org, team:NAME, agent:NAME). Keep in step with ../sqlite/V17__skills.sql.
CREATE TABLE skill_versions (
    name          TEXT    NOT NULL,
    hash          TEXT    NOT NULL,
    files         BYTEA   NOT NULL,
    file_count    INTEGER NOT NULL,
    total_bytes   BIGINT  NOT NULL,
    summary       TEXT    NOT NULL,
    publisher     TEXT    NOT NULL,
    published_at  BIGINT  NOT NULL,
    findings      TEXT    NOT NULL,
    blocking      BOOLEAN NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    reviewer      TEXT,
    decided_at    BIGINT,
    note          TEXT,
    PRIMARY KEY (name, hash)
);
CREATE TABLE skill_installs (
    scope         TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    hash          TEXT    NOT NULL,
    installed_by  TEXT    NOT NULL,
    installed_at  BIGINT  NOT NULL,
    PRIMARY KEY (scope, name),
    FOREIGN KEY (name, hash) REFERENCES skill_versions (name, hash)
);
