-- name: ping^
-- The database answers.
SELECT 1 AS ok

-- name: pooled_session!
-- Through a transaction pooler (DATABASE_POOLER=pgbouncer) a session's startup options never reach the
-- server; PgBouncer tracks TimeZone, though, and sets it on whichever server connection serves us.
SET TimeZone = 'UTC'

-- name: serial_plan!
-- Through a transaction pooler, the first statement of every SERIALIZABLE transaction: index scans, as
-- the direct mode's serializable sessions have by default (a sequential scan's predicate lock covers the
-- whole table, so on small tables every concurrent write would conflict with it).
SET LOCAL enable_seqscan = off
