-- Issue 14. The responses POST /v1/responses served with store: true, kept for previous_response_id and
-- GET/DELETE /v1/responses/{id}. Each belongs to the API key that asked for it (key_prefix): another key's id is
-- not found. input_items holds the client's own new input of that turn, response the response object it was shown
-- (its output items included); a chain is rebuilt by following previous_id. Rows past expires_at are deleted.
CREATE TABLE responses (
    id          TEXT PRIMARY KEY,
    key_prefix  TEXT NOT NULL,
    previous_id TEXT,
    model       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    input_items TEXT NOT NULL,
    response    TEXT NOT NULL
);
CREATE INDEX responses_expires_at ON responses (expires_at);
