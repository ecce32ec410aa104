-- Idempotency keys (SPEC §5 "Retries"). All statements run inside the transaction of the request.

-- name: claim_idempotency_key^
-- Claims (user, key) for this request, or finds the kept answer of an earlier one. A key whose first
-- request is still running elsewhere is reported busy (its advisory lock is held) without waiting.
-- state: busy | claimed | replay (status, body, fingerprint given) | raced (committed elsewhere
-- after this statement's snapshot: try again).
WITH lock AS (
    SELECT pg_try_advisory_xact_lock(hashtextextended(%(user_id)s::text || ':' || %(key)s, 0)) AS got
), kept AS (
    SELECT fingerprint, status, body FROM idempotency_keys
    WHERE user_id = %(user_id)s AND key = %(key)s AND created_at > now() - interval '24 hours'
), claimed AS (
    INSERT INTO idempotency_keys AS k (user_id, key, fingerprint)
    SELECT %(user_id)s, %(key)s, %(fingerprint)s FROM lock WHERE got AND NOT EXISTS (SELECT 1 FROM kept)
    ON CONFLICT (user_id, key) DO UPDATE
    SET fingerprint = excluded.fingerprint, status = NULL, body = NULL, created_at = now()
    WHERE k.created_at <= now() - interval '24 hours'
    RETURNING 1
)
SELECT CASE WHEN NOT (SELECT got FROM lock) THEN 'busy'
            WHEN EXISTS (SELECT 1 FROM claimed) THEN 'claimed'
            WHEN EXISTS (SELECT 1 FROM kept) THEN 'replay'
            ELSE 'raced' END AS state,
       kept.fingerprint, kept.status, kept.body
FROM (SELECT 1) AS one
LEFT JOIN kept ON true

-- name: keep_idempotent_answer!
-- Keeps the answer given to the request that claimed the key.
UPDATE idempotency_keys SET status = %(status)s, body = %(body)s
WHERE user_id = %(user_id)s AND key = %(key)s

-- name: purge_idempotency_keys^
-- Forgets up to `batch` keys older than 24 hours; returns how many.
WITH gone AS (
    DELETE FROM idempotency_keys
    WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE created_at <= now() - interval '24 hours'
                   LIMIT %(batch)s)
    RETURNING 1
)
SELECT count(*) AS purged FROM gone

-- name: trim_idempotency_keys^
-- Forgets up to `batch` kept keys of users who keep more than 1000, oldest first: after a janitor round
-- no user keeps more than their newest 1000 answers (a retry of an older key runs again). Returns how many.
WITH crowded AS (
    SELECT user_id FROM idempotency_keys GROUP BY user_id HAVING count(*) > 1000
), surplus AS (
    SELECT k.ctid FROM crowded c
    CROSS JOIN LATERAL (
        SELECT ctid FROM idempotency_keys WHERE user_id = c.user_id
        ORDER BY created_at DESC, key DESC
        OFFSET 1000
    ) k
    LIMIT %(batch)s
), gone AS (
    DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM surplus)
    RETURNING 1
)
SELECT count(*) AS trimmed FROM gone
