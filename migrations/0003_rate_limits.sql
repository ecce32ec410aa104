-- Rate-limit counters shared by every worker and instance. UNLOGGED: fast, and losing the counters
-- in a crash only forgives a minute of attempts.
-- depends: 0002_draft_groups

CREATE UNLOGGED TABLE rate_limit_counters (
    key        text PRIMARY KEY,
    hits       integer NOT NULL CHECK (hits >= 0),
    expires_at timestamptz NOT NULL
);
