-- Transfers between locations (SPEC §10): stock or surplus moves from one location to another, every
-- line or none, the source never below zero. Run SERIALIZABLE (db.write), like approve_group.

-- name: transfer_stock
-- Books a transfer of one or more lines in one statement. Per line: the article, and its batch (a
-- consumable without a batch_id: its NA batch), in a bucket (STOCK or SURPLUS). Lines of the same
-- (batch, bucket) are served in line order, like an approval's; if any line is short, nothing is written
-- and every line comes back with what it lacks (shortage_kg). On success the source's balances fall and
-- the destination's rise once per key (aggregated), the transfer row keeps the answer's lines, and each
-- line gets TRANSFER_OUT (-q, source) and TRANSFER_IN (+q, destination) ledger rows with the transfer's
-- id. A repeated client_event_id books nothing: `replay` (same request) answers the first transfer,
-- `duplicate_event` (another request) refuses. No destination balance goes above %(max_balance)s.
-- outcome: transferred | replay | duplicate_event | location_not_found (missing_location_id) |
-- invalid_lines | short_transfer | out_of_range; one row per line.
WITH input AS (
    SELECT l.n, l.article_id, l.batch_id, l.quantity_kg, l.bucket
    FROM jsonb_to_recordset(%(lines)s::jsonb)
         AS l (n int, article_id bigint, batch_id bigint, quantity_kg numeric(14,2), bucket text)
), earlier AS (
    SELECT t.*, t.request = %(request)s::jsonb AS same
    FROM transfers t WHERE t.client_event_id = %(client_event_id)s::text
), locs AS (
    SELECT (SELECT id FROM locations WHERE id = %(from_location_id)s::bigint) AS from_id,
           (SELECT id FROM locations WHERE id = %(to_location_id)s::bigint) AS to_id
), resolved AS (
    SELECT i.*, a.id IS NOT NULL AS article_found, a.is_paint, a.article_no, b.id AS resolved_batch_id,
           b.article_id AS batch_article_id, b.batch_code,
           coalesce(st.quantity_kg, 0) AS stock, coalesce(sp.quantity_kg, 0) AS surplus
    -- every lookup a key probe, so SERIALIZABLE locks rows, not whole tables (the planner, guessing 100
    -- input lines, would hash-join scans of articles and batches; OFFSET 0 keeps each probe per line)
    FROM input i
    LEFT JOIN LATERAL (SELECT * FROM articles x WHERE x.id = i.article_id OFFSET 0) a ON true
    LEFT JOIN LATERAL (SELECT x.id FROM batches x
                       WHERE i.batch_id IS NULL AND NOT a.is_paint AND x.article_id = a.id AND x.batch_code = 'NA'
                       OFFSET 0) na ON true
    LEFT JOIN LATERAL (SELECT * FROM batches x WHERE x.id = coalesce(i.batch_id, na.id) OFFSET 0) b ON true
    LEFT JOIN stock st ON st.location_id = %(from_location_id)s::bigint AND st.batch_id = b.id
    LEFT JOIN surplus sp ON sp.location_id = %(from_location_id)s::bigint AND sp.batch_id = b.id
), checked AS (
    SELECT r.*,
           CASE WHEN NOT r.article_found THEN 'ARTICLE_NOT_FOUND'
                WHEN r.batch_id IS NULL AND r.is_paint THEN 'BATCH_REQUIRED'
                WHEN r.resolved_batch_id IS NULL THEN 'BATCH_NOT_FOUND'
                WHEN r.batch_article_id <> r.article_id THEN 'BATCH_ARTICLE_MISMATCH'
           END AS problem,
           greatest(0, least(r.quantity_kg,
                             sum(r.quantity_kg) OVER (PARTITION BY r.resolved_batch_id, r.bucket ORDER BY r.n)
                             - CASE r.bucket WHEN 'STOCK' THEN r.stock ELSE r.surplus END)) AS shortage_kg
    FROM resolved r
), per_key AS (
    SELECT c.resolved_batch_id AS batch_id, c.article_id, c.bucket, sum(c.quantity_kg) AS moved, min(c.n) AS n,
           min(c.batch_code) AS batch_code
    FROM checked c
    GROUP BY c.resolved_batch_id, c.article_id, c.bucket
), raised AS (
    -- each destination key's balance after the transfer, in unbounded numeric
    -- (subqueries probe the primary keys: a join here was planned as a scan of the whole table)
    SELECT k.*, coalesce(CASE k.bucket
                             WHEN 'STOCK' THEN (SELECT st.quantity_kg FROM stock st
                                                WHERE st.location_id = %(to_location_id)s::bigint
                                                  AND st.batch_id = k.batch_id)
                             ELSE (SELECT sp.quantity_kg FROM surplus sp
                                   WHERE sp.location_id = %(to_location_id)s::bigint AND sp.batch_id = k.batch_id)
                         END, 0)::numeric AS current_qty
    FROM per_key k
), verdict AS (
    SELECT o.outcome, o.outcome = 'transferred' AS ok
    FROM (SELECT CASE
                     WHEN EXISTS (SELECT 1 FROM earlier) THEN
                         CASE WHEN (SELECT same FROM earlier) THEN 'replay' ELSE 'duplicate_event' END
                     WHEN (SELECT from_id IS NULL OR to_id IS NULL FROM locs) THEN 'location_not_found'
                     WHEN EXISTS (SELECT 1 FROM checked WHERE problem IS NOT NULL) THEN 'invalid_lines'
                     WHEN EXISTS (SELECT 1 FROM checked WHERE shortage_kg > 0) THEN 'short_transfer'
                     WHEN EXISTS (SELECT 1 FROM raised WHERE current_qty + moved > %(max_balance)s) THEN 'out_of_range'
                     ELSE 'transferred'
                 END AS outcome) o
), stock_out AS (
    UPDATE stock s SET quantity_kg = s.quantity_kg - k.moved, updated_at = now()
    FROM per_key k, locs, verdict v
    WHERE v.ok AND k.bucket = 'STOCK' AND s.location_id = locs.from_id AND s.batch_id = k.batch_id
), surplus_out AS (
    UPDATE surplus s SET quantity_kg = s.quantity_kg - k.moved, updated_at = now()
    FROM per_key k, locs, verdict v
    WHERE v.ok AND k.bucket = 'SURPLUS' AND s.location_id = locs.from_id AND s.batch_id = k.batch_id
), stock_in AS (
    INSERT INTO stock (location_id, batch_id, article_id, quantity_kg)
    SELECT locs.to_id, k.batch_id, k.article_id, k.moved
    FROM per_key k, locs, verdict v
    WHERE v.ok AND k.bucket = 'STOCK'
    ON CONFLICT (location_id, batch_id) DO UPDATE
    SET quantity_kg = stock.quantity_kg + excluded.quantity_kg, updated_at = now()
), surplus_in AS (
    INSERT INTO surplus (location_id, batch_id, article_id, quantity_kg)
    SELECT locs.to_id, k.batch_id, k.article_id, k.moved
    FROM per_key k, locs, verdict v
    WHERE v.ok AND k.bucket = 'SURPLUS'
    ON CONFLICT (location_id, batch_id) DO UPDATE
    SET quantity_kg = surplus.quantity_kg + excluded.quantity_kg, updated_at = now()
), transfer AS (
    INSERT INTO transfers (from_location_id, to_location_id, user_id, note, client_event_id, request, lines)
    SELECT locs.from_id, locs.to_id, %(user_id)s, %(note)s, %(client_event_id)s, %(request)s::jsonb,
           (SELECT jsonb_agg(jsonb_build_object('line', c.n, 'article_id', c.article_id, 'article_no', c.article_no,
                                                'batch_id', c.resolved_batch_id, 'batch_code', c.batch_code,
                                                'bucket', c.bucket, 'quantity_kg', c.quantity_kg) ORDER BY c.n)
            FROM checked c)
    FROM locs, verdict v
    WHERE v.ok
    RETURNING *
), ledger AS (
    INSERT INTO transactions (tx_type, bucket, quantity_kg, location_id, article_id, batch_id, user_id, source,
                              client_event_id, transfer_id, meta)
    SELECT m.tx_type, c.bucket, m.sign * c.quantity_kg, m.location_id, c.article_id, c.resolved_batch_id,
           t.user_id, 'transfer', t.client_event_id, t.id, jsonb_build_object('line', c.n, 'note', t.note)
    FROM checked c
    CROSS JOIN transfer t
    CROSS JOIN LATERAL (VALUES ('TRANSFER_OUT', t.from_location_id, -1), ('TRANSFER_IN', t.to_location_id, 1))
        AS m (tx_type, location_id, sign)
    ORDER BY c.n, m.sign
), header AS (
    SELECT id, from_location_id, to_location_id, user_id, note, client_event_id, created_at, lines FROM transfer
    UNION ALL
    SELECT e.id, e.from_location_id, e.to_location_id, e.user_id, e.note, e.client_event_id, e.created_at, e.lines
    FROM earlier e CROSS JOIN verdict v
    WHERE v.outcome = 'replay'
), answer AS (
    -- the booked lines (a success or a replay), or every line with its problem and shortage (a refusal)
    SELECT l.line, l.article_id, l.article_no, l.batch_id, l.batch_code, l.bucket, l.quantity_kg,
           NULL::text AS problem, NULL::numeric AS stock, NULL::numeric AS surplus, NULL::numeric AS shortage_kg
    FROM header h
    CROSS JOIN LATERAL jsonb_to_recordset(h.lines)
        AS l (line int, article_id bigint, article_no text, batch_id bigint, batch_code text, bucket text,
              quantity_kg numeric(14,2))
    UNION ALL
    SELECT c.n, c.article_id, c.article_no, c.resolved_batch_id, c.batch_code, c.bucket, c.quantity_kg, c.problem,
           c.stock, c.surplus, c.shortage_kg
    FROM checked c CROSS JOIN verdict v
    WHERE v.outcome IN ('invalid_lines', 'short_transfer')
)
SELECT v.outcome,
       CASE WHEN v.outcome = 'location_not_found' THEN
           (SELECT CASE WHEN from_id IS NULL THEN %(from_location_id)s::bigint ELSE %(to_location_id)s::bigint END
            FROM locs)
       END AS missing_location_id,
       h.id AS transfer_id, h.from_location_id, h.to_location_id, h.user_id, h.note, h.client_event_id, h.created_at,
       a.line, a.article_id, a.article_no, a.batch_id, a.batch_code, lower(a.bucket) AS bucket, a.quantity_kg,
       a.problem, a.stock AS available_stock_kg, a.surplus AS available_surplus_kg, a.shortage_kg,
       r.n AS range_line, r.batch_id AS range_batch_id, r.batch_code AS range_batch_code, r.bucket AS range_bucket,
       r.current_qty, r.current_qty + r.moved AS requested_qty
FROM verdict v
LEFT JOIN header h ON true
LEFT JOIN answer a ON true
LEFT JOIN LATERAL (SELECT * FROM raised WHERE v.outcome = 'out_of_range' AND current_qty + moved > %(max_balance)s
                   ORDER BY n LIMIT 1) r ON true
ORDER BY a.line
