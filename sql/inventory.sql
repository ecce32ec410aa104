-- Balances per (location, batch): receiving, inventory counts, adjustments, the summary and the
-- reconciliation. Every statement here that moves a balance writes the matching ledger rows in the same
-- statement (run SERIALIZABLE), so for every key the stock balance is the sum of its STOCK rows and the
-- surplus balance the sum of its SURPLUS rows.
-- Every statement that raises a balance computes the new one in unbounded numeric and refuses
-- (outcome out_of_range) to take it above %(max_balance)s, far inside numeric(14,2): the key stays
-- usable, and sums over many keys still fit the column type.

-- name: receive_stock
-- Books a receipt of one or more lines in one statement, all lines or none. Per line: paint needs a
-- valid batch code and an expiry; a new batch is created with that expiry, an existing one without
-- expiry gets it, a different expiry is refused; a consumable goes to its NA batch (created if missing).
-- Stock rises once per key (lines aggregated), one STOCK_RECEIPT ledger row per line carries the order
-- number and, in meta, what the answer reports (previous_stock, new_stock, batch_created). A receipt whose
-- client_event_id was seen before books nothing: `replay` (same request) answers from the first receipt's
-- ledger rows, `duplicate` (other request) refuses. No key's stock goes above %(max_balance)s.
-- outcome: create | replay | duplicate_event | location_not_found | invalid_receipt_lines | out_of_range (both with `problems`);
-- one row per line.
WITH input AS (
    SELECT l.n, l.article_id, l.batch_code, l.quantity_kg, l.expiry_date, l.note
    FROM jsonb_to_recordset(%(lines)s::jsonb)
         AS l (n int, article_id bigint, batch_code text, quantity_kg numeric(14,2), expiry_date date, note text)
), earlier AS (
    SELECT r.id, r.request = %(request)s::jsonb AS same
    FROM receipts r WHERE r.client_event_id = %(client_event_id)s::text
), loc AS (
    SELECT default_location_id(%(location_id)s::bigint, %(default_location_code)s) AS id
), day AS (
    SELECT coalesce(%(received_date)s::date, current_date) AS received_date
), resolved AS (
    SELECT i.*, a.id IS NOT NULL AS article_found, a.is_paint, a.is_active AS article_active,
           CASE WHEN a.is_paint THEN i.batch_code ELSE 'NA' END AS code,
           CASE WHEN a.is_paint THEN i.expiry_date ELSE DATE '2099-12-31' END AS expiry,
           b.id AS existing_batch_id, b.expiry_date AS existing_expiry, b.is_active AS batch_active
    FROM input i
    LEFT JOIN articles a ON a.id = i.article_id
    LEFT JOIN batches b ON b.article_id = a.id AND b.batch_code = CASE WHEN a.is_paint THEN i.batch_code ELSE 'NA' END
), checked AS (
    SELECT r.*,
           CASE
               WHEN NOT r.article_found THEN 'ARTICLE_NOT_FOUND'
               WHEN r.is_paint AND r.batch_code IS NULL THEN 'BATCH_REQUIRED'
               WHEN r.is_paint AND r.batch_code !~ '^([0-9]{4,5}|[0-9]{9,12})$' THEN 'INVALID_BATCH_FORMAT'
               WHEN r.is_paint AND r.expiry_date IS NULL THEN 'EXPIRY_REQUIRED'
               WHEN NOT r.article_active THEN 'ARTICLE_ARCHIVED'
               WHEN r.existing_batch_id IS NOT NULL AND NOT r.batch_active THEN 'BATCH_INACTIVE'
               WHEN r.existing_expiry <> r.expiry THEN 'BATCH_EXPIRY_MISMATCH'
               -- two lines of one new batch with different expiries
               WHEN min(r.expiry) OVER w <> max(r.expiry) OVER w THEN 'BATCH_EXPIRY_MISMATCH'
           END AS problem
    FROM resolved r
    WINDOW w AS (PARTITION BY r.article_id, r.code)
), raised AS (
    -- each key's stock after the receipt, in unbounded numeric: past the maximum is an answer, not an error
    SELECT min(c.n) AS n, c.article_id, c.existing_batch_id AS batch_id, c.code AS batch_code,
           coalesce(st.quantity_kg, 0)::numeric AS current_qty,
           coalesce(st.quantity_kg, 0)::numeric + sum(c.quantity_kg) AS requested_qty
    FROM checked c
    CROSS JOIN loc
    LEFT JOIN stock st ON st.location_id = loc.id AND st.batch_id = c.existing_batch_id
    GROUP BY c.article_id, c.code, c.existing_batch_id, st.quantity_kg
), verdict AS (
    SELECT CASE
               WHEN EXISTS (SELECT 1 FROM earlier) THEN
                   CASE WHEN (SELECT same FROM earlier) THEN 'replay' ELSE 'duplicate_event' END
               WHEN (SELECT id FROM loc) IS NULL THEN 'location_not_found'
               WHEN EXISTS (SELECT 1 FROM checked WHERE problem IS NOT NULL) THEN 'invalid_receipt_lines'
               WHEN EXISTS (SELECT 1 FROM raised WHERE requested_qty > %(max_balance)s) THEN 'out_of_range'
               ELSE 'create'
           END AS outcome
), new_batches AS (
    INSERT INTO batches (article_id, batch_code, received_date, expiry_date, note)
    SELECT DISTINCT ON (c.article_id, c.code)
           c.article_id, c.code, CASE WHEN c.is_paint THEN d.received_date END, c.expiry,
           CASE WHEN NOT c.is_paint THEN 'system batch' END
    FROM checked c, verdict v, day d
    WHERE v.outcome = 'create' AND c.existing_batch_id IS NULL
    ORDER BY c.article_id, c.code, c.n
    ON CONFLICT (article_id, batch_code) DO NOTHING
    RETURNING id, article_id, batch_code
), expiry_filled AS (
    UPDATE batches b SET expiry_date = c.expiry, updated_at = now()
    FROM (SELECT DISTINCT existing_batch_id, expiry FROM checked
          WHERE existing_batch_id IS NOT NULL AND existing_expiry IS NULL) c, verdict v
    WHERE b.id = c.existing_batch_id AND v.outcome = 'create'
), booked AS (
    SELECT c.n, c.article_id, coalesce(c.existing_batch_id, nb.id) AS batch_id, c.code AS batch_code,
           c.existing_batch_id IS NULL AS batch_created, c.quantity_kg, c.note, c.expiry,
           (coalesce(st.quantity_kg, 0)
               + coalesce(sum(c.quantity_kg) OVER (PARTITION BY c.article_id, c.code ORDER BY c.n
                                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
           )::numeric(14,2) AS previous_stock
    FROM checked c
    CROSS JOIN verdict v
    CROSS JOIN loc
    LEFT JOIN new_batches nb ON nb.article_id = c.article_id AND nb.batch_code = c.code
    LEFT JOIN stock st ON st.location_id = loc.id AND st.batch_id = c.existing_batch_id
    WHERE v.outcome = 'create'
), stock_raised AS (
    INSERT INTO stock (location_id, batch_id, article_id, quantity_kg)
    SELECT loc.id, b.batch_id, b.article_id, sum(b.quantity_kg)
    FROM booked b CROSS JOIN loc
    GROUP BY loc.id, b.batch_id, b.article_id
    ON CONFLICT (location_id, batch_id) DO UPDATE
    SET quantity_kg = stock.quantity_kg + excluded.quantity_kg, updated_at = now()
), receipt AS (
    INSERT INTO receipts (order_number, location_id, received_date, client_event_id, request, user_id)
    SELECT %(order_number)s, loc.id, d.received_date, %(client_event_id)s, %(request)s::jsonb, %(user_id)s
    FROM verdict v, loc, day d
    WHERE v.outcome = 'create'
    RETURNING id, receipt_key, order_number, location_id, received_date, client_event_id, user_id, created_at
), ledger AS (
    INSERT INTO transactions (tx_type, bucket, quantity_kg, location_id, article_id, batch_id, user_id, source,
                              client_event_id, order_number, receipt_id, meta)
    SELECT 'STOCK_RECEIPT', 'STOCK', b.quantity_kg, r.location_id, b.article_id, b.batch_id, r.user_id, 'receipt',
           r.client_event_id, r.order_number, r.id,
           jsonb_build_object('line', b.n, 'batch_created', b.batch_created, 'previous_stock', b.previous_stock,
                              'new_stock', b.previous_stock + b.quantity_kg, 'note', b.note)
    FROM booked b CROSS JOIN receipt r
    ORDER BY b.n
), header AS (
    SELECT id, receipt_key, order_number, location_id, received_date, client_event_id, user_id, created_at
    FROM receipt
    UNION ALL
    SELECT r.id, r.receipt_key, r.order_number, r.location_id, r.received_date, r.client_event_id, r.user_id,
           r.created_at
    FROM receipts r JOIN earlier e ON e.id = r.id CROSS JOIN verdict v
    WHERE v.outcome = 'replay'
), answer AS (
    SELECT n, article_id, batch_id, batch_code, expiry AS expiry_date, batch_created, previous_stock,
           previous_stock + quantity_kg AS new_stock, quantity_kg AS quantity_received
    FROM booked
    UNION ALL
    SELECT (t.meta ->> 'line')::int, t.article_id, t.batch_id, b.batch_code, b.expiry_date,
           (t.meta ->> 'batch_created')::boolean, (t.meta ->> 'previous_stock')::numeric(14,2),
           (t.meta ->> 'new_stock')::numeric(14,2), t.quantity_kg
    FROM earlier e
    CROSS JOIN verdict v
    JOIN transactions t ON t.receipt_id = e.id
    JOIN batches b ON b.id = t.batch_id
    WHERE v.outcome = 'replay'
)
SELECT v.outcome,
       CASE WHEN v.outcome = 'invalid_receipt_lines' THEN
           (SELECT jsonb_agg(jsonb_build_object('n', c.n, 'code', c.problem, 'article_id', c.article_id,
                                                'batch_code', c.batch_code, 'expiry_date', c.expiry,
                                                'existing_expiry_date', c.existing_expiry) ORDER BY c.n)
            FROM checked c WHERE c.problem IS NOT NULL)
       WHEN v.outcome = 'out_of_range' THEN
           (SELECT jsonb_agg(jsonb_build_object('n', r.n, 'article_id', r.article_id, 'batch_id', r.batch_id,
                                                'batch_code', r.batch_code, 'current_qty', r.current_qty::text,
                                                'requested_qty', r.requested_qty::text) ORDER BY r.n)
            FROM raised r WHERE r.requested_qty > %(max_balance)s)
       END AS problems,
       h.receipt_key, h.order_number, h.location_id, h.received_date, h.client_event_id,
       h.created_at AS received_at,
       a.n, a.article_id, a.batch_id, a.batch_code, a.expiry_date, a.batch_created, a.previous_stock, a.new_stock,
       a.quantity_received
FROM verdict v
LEFT JOIN header h ON true
LEFT JOIN answer a ON h.id IS NOT NULL
ORDER BY a.n

-- name: list_receipts
-- A page of receipts, newest first, one row per line (grouped by the caller), filtered by the
-- (normalised) order number and a range of received dates.
WITH page AS (
    SELECT r.id, r.receipt_key, r.order_number, r.location_id, r.received_date, r.client_event_id, r.user_id,
           r.created_at
    FROM receipts r
    WHERE (%(order_number)s::text IS NULL OR r.order_number = %(order_number)s)
      AND (%(from)s::date IS NULL OR r.received_date >= %(from)s::date)
      AND (%(to)s::date IS NULL OR r.received_date <= %(to)s::date)
      AND r.id < coalesce(%(after_id)s::bigint, 9223372036854775807)
    ORDER BY r.id DESC
    LIMIT %(limit)s
)
SELECT p.id, p.receipt_key, p.order_number, p.location_id, l.code AS location_code, p.received_date,
       p.created_at AS received_at, p.client_event_id, p.user_id, u.username AS user_name,
       t.article_id, a.article_no, a.description, t.batch_id, b.batch_code, b.expiry_date,
       t.quantity_kg, t.meta ->> 'note' AS note
FROM page p
JOIN locations l ON l.id = p.location_id
JOIN users u ON u.id = p.user_id
JOIN transactions t ON t.receipt_id = p.id
JOIN articles a ON a.id = t.article_id
JOIN batches b ON b.id = t.batch_id
ORDER BY p.id DESC, t.id

-- name: count_receipts^
-- How many receipts match the history filters.
SELECT count(*) AS total
FROM receipts r
WHERE (%(order_number)s::text IS NULL OR r.order_number = %(order_number)s)
  AND (%(from)s::date IS NULL OR r.received_date >= %(from)s::date)
  AND (%(to)s::date IS NULL OR r.received_date <= %(to)s::date)

-- name: count_inventory^
-- Books an inventory count of one (location, batch): with stock S, surplus P, total T = S + P and the
-- counted total C: C > T adds C - T to surplus; C = T changes nothing; C < T takes the deficit
-- D = T - C from surplus first (min(P, D)) and turns the rest R into an INVENTORY_SHORTAGE draft group
-- (source inventory_count) of lines of at most 9999.99, so approving it leaves the total at C.
-- The count itself is kept (inventory_counts) with the answer; a repeated client_event_id with the same
-- request is a `replay` of it, with another request a `duplicate`. Surplus moves with its ledger row and
-- never up past %(max_balance)s (current_qty and requested_qty say by how much).
-- outcome: counted | replay | duplicate_event | location_not_found | article_not_found | batch_not_found |
-- batch_article_mismatch | article_archived | batch_inactive | out_of_range | shortage_too_large.
WITH earlier AS (
    SELECT c.*, c.request = %(request)s::jsonb AS same
    FROM inventory_counts c WHERE c.client_event_id = %(client_event_id)s::text
), key AS (
    SELECT * FROM inventory_key(%(location_id)s::bigint, %(default_location_code)s, %(article_id)s::bigint,
                                %(batch_id)s::bigint)
), calc AS (
    SELECT s, p, s + p AS t, c,
           least(p, greatest(s + p - c, 0)) AS taken,
           greatest(s + p - c, 0) - least(p, greatest(s + p - c, 0)) AS remainder,
           p + greatest(c - s - p, 0) - least(p, greatest(s + p - c, 0)) AS new_surplus
    FROM (
        SELECT k.stock AS s, k.surplus AS p,
               round(%(counted_total)s::numeric, 2) AS c  -- unbounded: past the maximum is an answer
        FROM key k
    ) balances
), verdict AS (
    SELECT CASE
               WHEN EXISTS (SELECT 1 FROM earlier) THEN
                   CASE WHEN (SELECT same FROM earlier) THEN 'replay' ELSE 'duplicate_event' END
               WHEN k.problem IS NOT NULL THEN k.problem
               WHEN NOT k.article_active THEN 'article_archived'
               WHEN NOT k.batch_active THEN 'batch_inactive'
               WHEN (SELECT new_surplus > %(max_balance)s AND new_surplus > p FROM calc) THEN 'out_of_range'
               WHEN (SELECT ceil(remainder / 9999.99) FROM calc) > %(max_lines)s THEN 'shortage_too_large'
               ELSE 'counted'
           END AS outcome
    FROM key k
), surplus_set AS (
    INSERT INTO balances (location_id, batch_id, article_id, bucket, quantity_kg)
    SELECT k.location_id, k.batch_id, k.article_id, 'SURPLUS', c.new_surplus
    FROM key k, calc c, verdict v
    WHERE v.outcome = 'counted' AND (c.c > c.t OR c.taken > 0)
), grp AS (
    INSERT INTO draft_groups (name, source, location_id, created_by_user_id)
    SELECT next_group_name('InventoryCount'), 'inventory_count', k.location_id, %(user_id)s
    FROM key k, calc c, verdict v
    WHERE v.outcome = 'counted' AND c.remainder > 0
    RETURNING id, location_id
), shortage_lines AS (
    INSERT INTO weigh_in_drafts (draft_group_id, location_id, article_id, batch_id, quantity_kg, draft_type, source,
                                 client_event_id, note, created_by_user_id)
    SELECT g.id, g.location_id, k.article_id, k.batch_id, least(9999.99, c.remainder - (n - 1) * 9999.99),
           'INVENTORY_SHORTAGE', 'inventory_count', 'inventory-count-' || g.id || '-' || n, %(note)s, %(user_id)s
    FROM grp g, key k, calc c, generate_series(1, ceil(c.remainder / 9999.99)::int) n
    ORDER BY n
    RETURNING id, quantity_kg
), count_row AS (
    INSERT INTO inventory_counts (location_id, article_id, batch_id, result, previous_stock, previous_surplus,
                                  counted_total, surplus_added, surplus_reset, shortage_qty, shortage_group_id,
                                  shortage_draft_ids, note, client_event_id, request, user_id)
    SELECT k.location_id, k.article_id, k.batch_id,
           CASE WHEN c.c > c.t THEN 'over' WHEN c.c = c.t THEN 'no_change' ELSE 'under' END,
           c.s, c.p, c.c,
           CASE WHEN c.c > c.t THEN c.c - c.t END,
           CASE WHEN c.c < c.t THEN c.taken END,
           nullif(c.remainder, 0),
           (SELECT id FROM grp),
           (SELECT array_agg(id ORDER BY id) FROM shortage_lines),
           %(note)s, %(client_event_id)s, %(request)s::jsonb, %(user_id)s
    FROM key k, calc c, verdict v
    WHERE v.outcome = 'counted'
    RETURNING id, location_id, article_id, batch_id, result, previous_stock, previous_surplus, counted_total,
              surplus_added, surplus_reset, shortage_qty, shortage_group_id, shortage_draft_ids, note,
              client_event_id, user_id, created_at
), ledger AS (
    INSERT INTO transactions (tx_type, bucket, quantity_kg, location_id, article_id, batch_id, user_id, source,
                              client_event_id, meta)
    SELECT 'INVENTORY_ADJUSTMENT', 'SURPLUS', coalesce(r.surplus_added, -r.surplus_reset), r.location_id,
           r.article_id, r.batch_id, r.user_id, 'inventory_count', r.client_event_id,
           jsonb_build_object('inventory_count_id', r.id, 'counted_total', r.counted_total, 'note', r.note)
    FROM count_row r
    WHERE r.surplus_added IS NOT NULL OR r.surplus_reset > 0
), answer AS (
    SELECT * FROM count_row
    UNION ALL
    SELECT e.id, e.location_id, e.article_id, e.batch_id, e.result, e.previous_stock, e.previous_surplus,
           e.counted_total, e.surplus_added, e.surplus_reset, e.shortage_qty, e.shortage_group_id,
           e.shortage_draft_ids, e.note, e.client_event_id, e.user_id, e.created_at
    FROM earlier e CROSS JOIN verdict v
    WHERE v.outcome = 'replay'
)
SELECT v.outcome, a.id AS count_id, a.location_id, a.article_id, a.batch_id, a.result, a.previous_stock,
       a.previous_surplus, a.previous_stock + a.previous_surplus AS previous_total, a.counted_total,
       a.counted_total - a.previous_stock - a.previous_surplus AS delta, a.surplus_added, a.surplus_reset,
       a.shortage_qty, a.shortage_group_id, a.shortage_draft_ids, a.note, a.client_event_id,
       a.created_at AS counted_at, o.p AS current_qty, o.new_surplus AS requested_qty
FROM verdict v
LEFT JOIN answer a ON true
LEFT JOIN calc o ON v.outcome = 'out_of_range'

-- name: adjust_inventory^
-- Sets (mode set) or changes (mode delta) the stock or surplus of one (location, batch) directly,
-- never below zero nor up past %(max_balance)s (a balance already past it may still go down), and writes
-- the INVENTORY_ADJUSTMENT ledger row in that bucket (none when nothing changes).
-- outcome: location_not_found | article_not_found | batch_not_found | batch_article_mismatch |
-- negative | out_of_range | adjusted.
WITH key AS (
    SELECT * FROM inventory_key(%(location_id)s::bigint, %(default_location_code)s, %(article_id)s::bigint,
                                %(batch_id)s::bigint)
), calc AS (
    SELECT s, p, previous,
           CASE WHEN %(mode)s = 'set' THEN %(quantity_kg)s::numeric ELSE previous + %(quantity_kg)s::numeric END
               AS new
    FROM (
        SELECT k.stock AS s, k.surplus AS p, CASE WHEN %(target)s = 'stock' THEN k.stock ELSE k.surplus END AS previous
        FROM key k
    ) current
), verdict AS (
    SELECT CASE
               WHEN k.problem IS NOT NULL THEN k.problem
               WHEN (SELECT new FROM calc) < 0 THEN 'negative'
               WHEN (SELECT new > %(max_balance)s AND new > previous FROM calc) THEN 'out_of_range'
               ELSE 'adjusted'
           END AS outcome
    FROM key k
), ledger AS (
    INSERT INTO transactions (tx_type, bucket, quantity_kg, location_id, article_id, batch_id, user_id, source, meta)
    SELECT 'INVENTORY_ADJUSTMENT', upper(%(target)s), c.new - c.previous, k.location_id, k.article_id, k.batch_id,
           %(user_id)s, 'adjust',
           jsonb_build_object('target', %(target)s::text, 'mode', %(mode)s::text, 'previous', c.previous,
                              'new', c.new, 'note', %(note)s::text)
    FROM key k, calc c, verdict v
    WHERE v.outcome = 'adjusted' AND c.new <> c.previous
    RETURNING id, occurred_at, bucket
), balance_set AS (
    INSERT INTO balances (location_id, batch_id, article_id, bucket, quantity_kg)
    SELECT k.location_id, k.batch_id, k.article_id, l.bucket, c.new
    FROM key k, calc c, ledger l
)
SELECT v.outcome, k.location_id, k.article_id, k.batch_id,
       c.previous AS previous_qty, c.new AS new_qty, c.new - c.previous AS delta,
       c.s AS previous_stock, c.p AS previous_surplus,
       CASE WHEN %(target)s = 'stock' AND v.outcome = 'adjusted' THEN c.new ELSE c.s END AS stock_qty,
       CASE WHEN %(target)s = 'surplus' AND v.outcome = 'adjusted' THEN c.new ELSE c.p END AS surplus_qty,
       (SELECT id FROM ledger) AS transaction_id
FROM verdict v
CROSS JOIN key k
LEFT JOIN calc c ON true

-- name: list_inventory
-- Balances per (location, batch) with readable names and pending_qty (the sum of DRAFT lines on the key,
-- read through pending_groups: flat in the size of history), ordered by location, article_no, expiry
-- (FEFO) and batch code; zero rows only with include_empty. With limit NULL (reports) every row.
WITH pending AS (
    SELECT d.location_id, d.batch_id, sum(d.quantity_kg) AS qty
    FROM pending_groups p
    JOIN draft_groups g ON g.id = p.group_id AND g.status = 'DRAFT'
    JOIN weigh_in_drafts d ON d.draft_group_id = g.id
    GROUP BY d.location_id, d.batch_id
)
SELECT k.location_id, l.code AS location_code, k.article_id, a.article_no, a.description, k.batch_id,
       b.batch_code, b.expiry_date, a.is_paint, a.uom, k.stock_qty, k.surplus_qty,
       k.stock_qty + k.surplus_qty AS total_qty, coalesce(pending.qty, 0)::numeric(14,2) AS pending_qty,
       k.updated_at,
       upper(a.article_no) AS sort_article, coalesce(b.expiry_date, 'infinity'::date)::text AS sort_expiry
FROM (
    SELECT coalesce(st.location_id, sp.location_id) AS location_id, coalesce(st.batch_id, sp.batch_id) AS batch_id,
           coalesce(st.article_id, sp.article_id) AS article_id,
           coalesce(st.quantity_kg, 0)::numeric(14,2) AS stock_qty,
           coalesce(sp.quantity_kg, 0)::numeric(14,2) AS surplus_qty,
           greatest(st.updated_at, sp.updated_at) AS updated_at
    FROM stock st
    FULL JOIN surplus sp ON sp.location_id = st.location_id AND sp.batch_id = st.batch_id
) k
JOIN locations l ON l.id = k.location_id
JOIN articles a ON a.id = k.article_id
JOIN batches b ON b.id = k.batch_id
LEFT JOIN pending ON pending.location_id = k.location_id AND pending.batch_id = k.batch_id
WHERE (%(location_id)s::bigint IS NULL OR k.location_id = %(location_id)s)
  AND (%(article_id)s::bigint IS NULL OR k.article_id = %(article_id)s)
  AND (%(batch_id)s::bigint IS NULL OR k.batch_id = %(batch_id)s)
  AND (%(is_paint)s::boolean IS NULL OR a.is_paint = %(is_paint)s)
  AND (%(include_empty)s OR k.stock_qty + k.surplus_qty <> 0)
  AND (%(after_location)s::bigint IS NULL
       OR (k.location_id, upper(a.article_no), coalesce(b.expiry_date, 'infinity'::date), b.batch_code)
          > (%(after_location)s::bigint, %(after_article)s::text, %(after_expiry)s::date, %(after_code)s::text))
ORDER BY k.location_id, upper(a.article_no), coalesce(b.expiry_date, 'infinity'::date), b.batch_code
LIMIT %(limit)s

-- name: count_inventory_rows^
-- How many (location, batch) rows match the summary filters.
SELECT count(*) AS total
FROM (
    SELECT coalesce(st.location_id, sp.location_id) AS location_id, coalesce(st.batch_id, sp.batch_id) AS batch_id,
           coalesce(st.article_id, sp.article_id) AS article_id,
           coalesce(st.quantity_kg, 0) + coalesce(sp.quantity_kg, 0) AS total_qty
    FROM stock st
    FULL JOIN surplus sp ON sp.location_id = st.location_id AND sp.batch_id = st.batch_id
) k
JOIN articles a ON a.id = k.article_id
WHERE (%(location_id)s::bigint IS NULL OR k.location_id = %(location_id)s)
  AND (%(article_id)s::bigint IS NULL OR k.article_id = %(article_id)s)
  AND (%(batch_id)s::bigint IS NULL OR k.batch_id = %(batch_id)s)
  AND (%(is_paint)s::boolean IS NULL OR a.is_paint = %(is_paint)s)
  AND (%(include_empty)s OR k.total_qty <> 0)

-- name: reconcile_inventory
-- Every (location, batch, bucket) whose balance differs from the sum of its ledger rows in that bucket
-- (SPEC §4's invariant); empty when healthy.
SELECT x.location_id, x.batch_id, x.article_id, x.bucket, x.balance_qty, x.ledger_qty,
       x.balance_qty - x.ledger_qty AS difference
FROM (
    SELECT coalesce(b.location_id, l.location_id) AS location_id, coalesce(b.batch_id, l.batch_id) AS batch_id,
           coalesce(b.article_id, l.article_id) AS article_id, coalesce(b.bucket, l.bucket) AS bucket,
           coalesce(b.quantity_kg, 0)::numeric(14,2) AS balance_qty,
           coalesce(l.total, 0)::numeric(14,2) AS ledger_qty
    FROM balances b
    FULL JOIN (SELECT location_id, batch_id, min(article_id) AS article_id, bucket, sum(quantity_kg) AS total
               FROM transactions
               WHERE bucket IS NOT NULL
               GROUP BY location_id, batch_id, bucket) l
           ON l.location_id = b.location_id AND l.batch_id = b.batch_id AND l.bucket = b.bucket
) x
WHERE x.balance_qty <> x.ledger_qty
ORDER BY x.location_id, x.batch_id, x.bucket
