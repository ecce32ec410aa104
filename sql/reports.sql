-- Reports, read through a server-side cursor and streamed (constant memory for any range). The
-- inventory report reads `list_inventory` (sql/inventory.sql) with limit NULL.

-- name: report_transactions
-- Every ledger row (ledger_rows, migration 0010) matching the filters of GET /api/transactions, oldest first.
SELECT t.*
FROM matching_ledger_rows(%(tx_type)s::text, %(bucket)s::text, %(location_id)s::bigint, %(article_id)s::bigint,
                          %(batch_id)s::bigint, %(order_number)s::text, %(from)s::timestamptz,
                          %(before)s::timestamptz) t
ORDER BY t.id
