-- name: rate_limit_incr^
-- Counts `amount` hits on a key in one atomic upsert; an expired window starts afresh.
INSERT INTO rate_limit_counters AS c (key, hits, expires_at)
VALUES (%(key)s, %(amount)s, clock_timestamp() + make_interval(secs => %(expiry)s))
ON CONFLICT (key) DO UPDATE
SET hits = CASE WHEN c.expires_at <= clock_timestamp() THEN excluded.hits ELSE c.hits + excluded.hits END,
    expires_at = CASE WHEN c.expires_at <= clock_timestamp() THEN excluded.expires_at ELSE c.expires_at END
RETURNING hits

-- name: rate_limit_get^
-- Hits counted on a key in its live window (0 when none).
SELECT coalesce((SELECT hits FROM rate_limit_counters WHERE key = %(key)s AND expires_at > clock_timestamp()), 0)
       AS hits

-- name: rate_limit_expiry^
-- When the key's window ends, as seconds since the epoch (now when there is none).
SELECT extract(epoch FROM coalesce(
           (SELECT expires_at FROM rate_limit_counters WHERE key = %(key)s AND expires_at > clock_timestamp()),
           clock_timestamp()))::float8 AS expires_at

-- name: rate_limit_clear!
-- Forgets one key.
DELETE FROM rate_limit_counters WHERE key = %(key)s

-- name: rate_limit_reset^
-- Forgets every key; returns how many there were.
WITH gone AS (DELETE FROM rate_limit_counters RETURNING 1) SELECT count(*) AS n FROM gone
