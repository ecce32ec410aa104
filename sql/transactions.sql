-- The ledger as the API shows it. Append-only: nothing here writes.

-- name: list_transactions
-- A page of ledger rows, newest first, with readable names; every filter is optional. `before` is
-- exclusive. No total: the ledger grows without bound and a count would scan it.
SELECT t.id, t.occurred_at, t.tx_type, t.bucket, t.quantity_kg, t.location_id, l.code AS location_code,
       t.article_id, a.article_no, a.description, t.batch_id, b.batch_code, t.user_id, u.username AS user_name,
       t.source, t.client_event_id, t.order_number, t.draft_id, t.draft_group_id, r.receipt_key,
       t.meta ->> 'note' AS note
FROM transactions t
JOIN locations l ON l.id = t.location_id
JOIN articles a ON a.id = t.article_id
JOIN batches b ON b.id = t.batch_id
LEFT JOIN users u ON u.id = t.user_id
LEFT JOIN receipts r ON r.id = t.receipt_id
WHERE (%(tx_type)s::text IS NULL OR t.tx_type = %(tx_type)s)
  AND (%(bucket)s::text IS NULL OR t.bucket = %(bucket)s)
  AND (%(location_id)s::bigint IS NULL OR t.location_id = %(location_id)s)
  AND (%(article_id)s::bigint IS NULL OR t.article_id = %(article_id)s)
  AND (%(batch_id)s::bigint IS NULL OR t.batch_id = %(batch_id)s)
  AND (%(order_number)s::text IS NULL OR t.order_number = %(order_number)s)
  AND (%(from)s::timestamptz IS NULL OR t.occurred_at >= %(from)s)
  AND (%(before)s::timestamptz IS NULL OR t.occurred_at < %(before)s)
  AND t.id < coalesce(%(after_id)s::bigint, 9223372036854775807)
ORDER BY t.id DESC
LIMIT %(limit)s
