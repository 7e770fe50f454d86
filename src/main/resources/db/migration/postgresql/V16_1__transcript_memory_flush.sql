-- The transcript also records memory flushes (role memory_flush: what an agent saved before a compaction, or why it
-- could not).
ALTER TABLE agent_transcript DROP CONSTRAINT agent_transcript_role_check;
ALTER TABLE agent_transcript ADD CONSTRAINT agent_transcript_role_check
    CHECK (role IN ('user', 'assistant', 'tool', 'summary', 'memory_flush'));
