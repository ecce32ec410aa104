-- name: ping
-- The database answers.
SELECT 1 AS ok

-- name: prefer_index_scans
-- Inside a SERIALIZABLE transaction: a sequential scan takes a predicate lock on the whole table, so
-- on small tables (a new warehouse, the tests) every concurrent write would conflict with it.
SET LOCAL enable_seqscan = off
