-- The ledger as the API shows it. Append-only: nothing here writes.

-- name: list_transactions
-- A page of ledger rows (ledger_rows, migration 0010), newest first; every filter is optional. `before` is
-- exclusive. No total: the ledger grows without bound and a count would scan it.
SELECT t.*
FROM matching_ledger_rows(%(tx_type)s::text, %(bucket)s::text, %(location_id)s::bigint, %(article_id)s::bigint,
                          %(batch_id)s::bigint, %(order_number)s::text, %(from)s::timestamptz,
                          %(before)s::timestamptz) t
WHERE t.id < coalesce(%(after_id)s::bigint, 9223372036854775807)
ORDER BY t.id DESC
LIMIT %(limit)s
