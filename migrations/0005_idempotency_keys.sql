-- Idempotency-Key: one row per (user, key) for 24 hours, claimed in the same transaction as the work
-- it protects and holding the answer that was given, so a repeat gets that answer and changes nothing.
-- depends: 0003_rate_limits

CREATE TABLE idempotency_keys (
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint bytea NOT NULL,
    status      smallint CHECK (status BETWEEN 100 AND 599),
    body        bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
