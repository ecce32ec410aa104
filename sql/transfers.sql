-- Transfers between locations (SPEC §10): stock or surplus moves from one location to another, every
-- line or none, the source never below zero. Run SERIALIZABLE (db.write), like approve_group.

-- name: transfer_stock
-- Books a transfer of one or more lines in one statement, as transfer_plan (migration 0011) plans it:
-- per line the article and its batch (a consumable without a batch_id: its NA batch) in a bucket (STOCK
-- or SURPLUS); lines of one (batch, bucket) served in line order. If any line is short, nothing is written
-- and every line comes back with what it lacks (shortage_kg). On success the source's balances fall and
-- the destination's rise once per key (aggregated), the transfer row keeps the answer's lines, and each
-- line gets TRANSFER_OUT (-q, source) and TRANSFER_IN (+q, destination) ledger rows with the transfer's
-- id. A repeated client_event_id books nothing: `replay` (same request) answers the first transfer,
-- `duplicate_event` (another request) refuses. No destination balance goes above %(max_balance)s.
-- outcome: transferred | replay | duplicate_event | location_not_found (from_found: which) |
-- invalid_lines | short_transfer | out_of_range; one row per line.
WITH checked AS (
    SELECT * FROM transfer_plan(%(lines)s::jsonb, %(from_location_id)s::bigint)
), earlier AS (
    SELECT t.* FROM transfers t WHERE t.client_event_id = %(client_event_id)s::text
), locs AS (
    SELECT (SELECT id FROM locations WHERE id = %(from_location_id)s::bigint) AS from_id,
           (SELECT id FROM locations WHERE id = %(to_location_id)s::bigint) AS to_id
), per_key AS (
    SELECT c.batch_id, c.article_id, c.bucket, sum(c.quantity_kg) AS moved, min(c.n) AS n,
           min(c.batch_code) AS batch_code, max(CASE c.bucket WHEN 'STOCK' THEN c.stock ELSE c.surplus END) AS source_qty
    FROM checked c
    GROUP BY c.batch_id, c.article_id, c.bucket
), raised AS (
    -- each destination key's balance after the transfer, in unbounded numeric
    -- (a subquery probes the primary keys: a join here was planned as a scan of the whole table)
    SELECT k.*, coalesce((SELECT b.quantity_kg FROM balances b
                          WHERE b.location_id = %(to_location_id)s AND b.batch_id = k.batch_id AND b.bucket = k.bucket),
                         0)::numeric AS current_qty
    FROM per_key k
), verdict AS (
    SELECT CASE
               WHEN EXISTS (SELECT 1 FROM earlier) THEN
                   CASE WHEN (SELECT request = %(request)s::jsonb FROM earlier) THEN 'replay' ELSE 'duplicate_event' END
               WHEN (SELECT from_id IS NULL OR to_id IS NULL FROM locs) THEN 'location_not_found'
               WHEN EXISTS (SELECT 1 FROM checked WHERE problem IS NOT NULL) THEN 'invalid_lines'
               WHEN EXISTS (SELECT 1 FROM checked WHERE shortage_kg > 0) THEN 'short_transfer'
               WHEN EXISTS (SELECT 1 FROM raised WHERE current_qty + moved > %(max_balance)s) THEN 'out_of_range'
               ELSE 'transferred'
           END AS outcome
), moved AS (
    -- each key's new balances, at the source and at the destination (the balances view upserts them)
    INSERT INTO balances (location_id, batch_id, article_id, bucket, quantity_kg)
    SELECT %(from_location_id)s, k.batch_id, k.article_id, k.bucket, k.source_qty - k.moved FROM raised k, verdict v
    WHERE v.outcome = 'transferred'
    UNION ALL
    SELECT %(to_location_id)s, k.batch_id, k.article_id, k.bucket, k.current_qty + k.moved FROM raised k, verdict v
    WHERE v.outcome = 'transferred'
), transfer AS (
    INSERT INTO transfers (from_location_id, to_location_id, user_id, note, client_event_id, request, lines)
    SELECT locs.from_id, locs.to_id, %(user_id)s, %(note)s, %(client_event_id)s, %(request)s::jsonb,
           (SELECT jsonb_agg(to_jsonb(c) - 'problem' - 'shortage_kg' ORDER BY c.n) FROM checked c)
    FROM locs, verdict v
    WHERE v.outcome = 'transferred'
    RETURNING *
), ledger AS (
    INSERT INTO transactions (tx_type, bucket, quantity_kg, location_id, article_id, batch_id, user_id, source,
                              client_event_id, transfer_id, meta)
    SELECT m.tx_type, c.bucket, m.sign * c.quantity_kg, m.location_id, c.article_id, c.batch_id,
           t.user_id, 'transfer', t.client_event_id, t.id, jsonb_build_object('line', c.n, 'note', t.note)
    FROM checked c
    CROSS JOIN transfer t
    CROSS JOIN LATERAL (VALUES ('TRANSFER_OUT', t.from_location_id, -1), ('TRANSFER_IN', t.to_location_id, 1))
        AS m (tx_type, location_id, sign)
), header AS (
    SELECT * FROM transfer
    UNION ALL
    SELECT e.* FROM earlier e, verdict v WHERE v.outcome = 'replay'
), answer AS (
    -- the booked lines (a success or a replay), or every line with its problem and shortage (a refusal)
    SELECT c.n AS line, c.article_id, c.article_no, c.batch_id, c.batch_code, c.bucket, c.quantity_kg, c.problem,
           c.stock, c.surplus, c.shortage_kg
    FROM checked c CROSS JOIN verdict v
    WHERE v.outcome IN ('invalid_lines', 'short_transfer')
    UNION ALL
    SELECT l.n, l.article_id, l.article_no, l.batch_id, l.batch_code, l.bucket, l.quantity_kg, NULL, NULL, NULL,
           NULL
    FROM header h
    CROSS JOIN LATERAL jsonb_to_recordset(h.lines)
        AS l (n int, article_id bigint, article_no text, batch_id bigint, batch_code text, bucket text,
              quantity_kg numeric(14,2))
)
SELECT v.outcome,
       (SELECT from_id FROM locs) AS from_found,
       h.id AS transfer_id, h.from_location_id, h.to_location_id, h.user_id, h.note, h.client_event_id, h.created_at,
       a.line, a.article_id, a.article_no, a.batch_id, a.batch_code, lower(a.bucket) AS bucket, a.quantity_kg,
       a.problem, a.stock AS available_stock_kg, a.surplus AS available_surplus_kg, a.shortage_kg,
       r.n AS range_line, r.batch_id AS range_batch_id, r.bucket AS range_bucket,
       r.current_qty, r.current_qty + r.moved AS requested_qty
FROM verdict v
LEFT JOIN header h ON true
LEFT JOIN answer a ON true
LEFT JOIN LATERAL (SELECT * FROM raised WHERE v.outcome = 'out_of_range' AND current_qty + moved > %(max_balance)s
                   ORDER BY n LIMIT 1) r ON true
ORDER BY a.line
