-- The stock reads of SPEC §10 (migration 0012): low stock, expiring batches, consumption per period, the
-- inventory as of a moment, and the consumption rollup the janitor keeps. Each is one statement, read
-- through a server-side cursor and streamed.

-- name: low_stock
-- Articles with a reorder threshold (archived ones aside) whose on-hand kg over active batches (stock plus
-- surplus, at one location or all summed) less what DRAFT lines on those batches will take is at or below
-- the threshold; largest shortfall first.
WITH on_hand AS (
    SELECT bal.article_id, sum(bal.quantity_kg) AS kg
    FROM balances bal
    JOIN batches b ON b.id = bal.batch_id AND b.is_active
    WHERE %(location_id)s::bigint IS NULL OR bal.location_id = %(location_id)s
    GROUP BY bal.article_id
), pending AS (
    SELECT d.article_id, sum(d.quantity_kg) AS kg
    FROM pending_groups p
    JOIN weigh_in_drafts d ON d.draft_group_id = p.group_id
    JOIN batches b ON b.id = d.batch_id AND b.is_active
    WHERE %(location_id)s::bigint IS NULL OR p.location_id = %(location_id)s
    GROUP BY d.article_id
), level AS (
    SELECT a.id AS article_id, a.article_no, a.description, a.uom, a.reorder_threshold,
           coalesce(o.kg, 0)::numeric(16,2) AS on_hand_kg, coalesce(p.kg, 0)::numeric(16,2) AS pending_kg
    FROM articles a
    LEFT JOIN on_hand o ON o.article_id = a.id
    LEFT JOIN pending p ON p.article_id = a.id
    WHERE a.is_active AND a.reorder_threshold IS NOT NULL
)
SELECT v.*, v.on_hand_kg - v.pending_kg AS available_kg,
       v.reorder_threshold - (v.on_hand_kg - v.pending_kg) AS shortfall_kg
FROM level v
WHERE v.on_hand_kg - v.pending_kg <= v.reorder_threshold
ORDER BY shortfall_kg DESC, upper(v.article_no)

-- name: expiring
-- Every (location, batch) with a positive balance whose batch expires before today (UTC) + within_days,
-- expired ones included (days_left < 0), earliest first (FEFO); the system NA batches never expire.
SELECT k.location_id, l.code AS location_code, b.article_id, a.article_no, a.description, b.id AS batch_id,
       b.batch_code, b.expiry_date, b.expiry_date - current_date AS days_left, a.is_paint, a.uom,
       k.stock_qty, k.surplus_qty, k.stock_qty + k.surplus_qty AS total_qty
FROM batches b
CROSS JOIN LATERAL (
    SELECT bal.location_id,
           coalesce(sum(bal.quantity_kg) FILTER (WHERE bal.bucket = 'STOCK'), 0)::numeric(14,2) AS stock_qty,
           coalesce(sum(bal.quantity_kg) FILTER (WHERE bal.bucket = 'SURPLUS'), 0)::numeric(14,2) AS surplus_qty
    FROM balances bal
    WHERE bal.batch_id = b.id AND (%(location_id)s::bigint IS NULL OR bal.location_id = %(location_id)s)
    GROUP BY bal.location_id
) k
JOIN locations l ON l.id = k.location_id
JOIN articles a ON a.id = b.article_id
WHERE b.batch_code <> 'NA' AND b.expiry_date IS NOT NULL
  AND b.expiry_date < current_date + %(within_days)s::integer
  AND k.stock_qty + k.surplus_qty > 0
ORDER BY b.expiry_date, upper(a.article_no), b.batch_code, k.location_id

-- name: consumption_watermark^
-- The first day the consumption rollup does not hold yet (null: it holds none).
SELECT nullif(w.closed_before, '-infinity') AS closed_before FROM consumption_rollup w

-- name: report_consumption
-- Per period (day, ISO week or month of UTC time, named by its first day) and article: the kg approved
-- weigh-ins took from surplus and from stock, their sum and the number of weigh-ins, in [lo, hi). The
-- caller splits the range (service/stock_reads.py): of the whole days [first_day, end_day) that the
-- rollup has closed, the whole months [first_month, end_month) (only when grouping by month) are read
-- from consumption_months, the other days from consumption_days, the rest ([lo, r1) and [r2, hi)) from
-- the ledger.
WITH moves AS (
    SELECT c.month::timestamp AS at, c.article_id, c.from_surplus_kg, c.from_stock_kg, c.weighins
    FROM consumption_months c
    WHERE c.location_id = coalesce(%(location_id)s::bigint, 0)
      AND c.month >= %(first_month)s::date AND c.month < %(end_month)s::date
      AND (%(article_id)s::bigint IS NULL OR c.article_id = %(article_id)s)
    UNION ALL
    SELECT c.day::timestamp, c.article_id, c.from_surplus_kg, c.from_stock_kg, c.weighins
    FROM consumption_days c
    WHERE c.location_id = coalesce(%(location_id)s::bigint, 0)
      AND (c.day >= %(first_day)s::date AND c.day < %(first_month)s::date
           OR c.day >= %(end_month)s::date AND c.day < %(end_day)s::date)
      AND (%(article_id)s::bigint IS NULL OR c.article_id = %(article_id)s)
    UNION ALL
    SELECT t.occurred_at AT TIME ZONE 'UTC', t.article_id, t.from_surplus_kg, t.from_stock_kg, t.weighins
    FROM consumption_ledger t
    WHERE t.occurred_at >= %(lo)s::timestamptz AND t.occurred_at < %(r1)s::timestamptz
      AND (%(location_id)s::bigint IS NULL OR t.location_id = %(location_id)s)
      AND (%(article_id)s::bigint IS NULL OR t.article_id = %(article_id)s)
    UNION ALL
    SELECT t.occurred_at AT TIME ZONE 'UTC', t.article_id, t.from_surplus_kg, t.from_stock_kg, t.weighins
    FROM consumption_ledger t
    WHERE t.occurred_at >= %(r2)s::timestamptz AND t.occurred_at < coalesce(%(hi)s::timestamptz, 'infinity')
      AND (%(location_id)s::bigint IS NULL OR t.location_id = %(location_id)s)
      AND (%(article_id)s::bigint IS NULL OR t.article_id = %(article_id)s)
), totals AS (
    SELECT date_trunc(%(group_by)s, m.at)::date AS period, m.article_id, sum(m.from_surplus_kg) AS from_surplus_kg,
           sum(m.from_stock_kg) AS from_stock_kg, sum(m.weighins) AS weighins
    FROM moves m
    WHERE %(is_paint)s::boolean IS NULL
       OR m.article_id IN (SELECT a.id FROM articles a WHERE a.is_paint = %(is_paint)s)
    GROUP BY 1, 2
)
SELECT t.period, t.article_id, a.article_no, a.description, a.uom, a.is_paint, t.from_surplus_kg,
       t.from_stock_kg, t.from_surplus_kg + t.from_stock_kg AS consumed_kg, t.weighins
FROM totals t
JOIN articles a ON a.id = t.article_id
ORDER BY t.period, upper(a.article_no)

-- name: inventory_as_of
-- Every (location, batch) balance as it stood at as_of: today's balance less the ledger rows booked after
-- it, which equals the sum of the rows up to it while the ledger invariant holds (reconcile empty); the
-- cost follows how far back as_of lies, not the size of history. pending_qty and updated_at are not kept
-- for the past (null). Filters and order as the inventory report's.
WITH later AS (
    SELECT t.location_id, t.batch_id, t.bucket, sum(t.quantity_kg) AS kg
    FROM transactions t
    WHERE t.occurred_at > %(as_of)s AND t.bucket IS NOT NULL
    GROUP BY t.location_id, t.batch_id, t.bucket
), k AS (
    SELECT bal.location_id, bal.batch_id, bal.article_id,
           coalesce(sum(bal.quantity_kg - coalesce(x.kg, 0)) FILTER (WHERE bal.bucket = 'STOCK'), 0)
               ::numeric(14,2) AS stock_qty,
           coalesce(sum(bal.quantity_kg - coalesce(x.kg, 0)) FILTER (WHERE bal.bucket = 'SURPLUS'), 0)
               ::numeric(14,2) AS surplus_qty
    FROM balances bal
    LEFT JOIN later x ON x.location_id = bal.location_id AND x.batch_id = bal.batch_id AND x.bucket = bal.bucket
    GROUP BY bal.location_id, bal.batch_id, bal.article_id
)
SELECT k.location_id, l.code AS location_code, k.article_id, a.article_no, a.description, k.batch_id,
       b.batch_code, b.expiry_date, a.is_paint, a.uom, k.stock_qty, k.surplus_qty,
       k.stock_qty + k.surplus_qty AS total_qty, NULL::numeric AS pending_qty, NULL::timestamptz AS updated_at
FROM k
JOIN locations l ON l.id = k.location_id
JOIN articles a ON a.id = k.article_id
JOIN batches b ON b.id = k.batch_id
WHERE (%(location_id)s::bigint IS NULL OR k.location_id = %(location_id)s)
  AND (%(article_id)s::bigint IS NULL OR k.article_id = %(article_id)s)
  AND (%(batch_id)s::bigint IS NULL OR k.batch_id = %(batch_id)s)
  AND (%(is_paint)s::boolean IS NULL OR a.is_paint = %(is_paint)s)
  AND (%(include_empty)s OR k.stock_qty + k.surplus_qty <> 0)
ORDER BY k.location_id, upper(a.article_no), coalesce(b.expiry_date, 'infinity'::date), b.batch_code

-- name: roll_up_consumption^
-- Rolls the closed days since the watermark into consumption_days (migration 0012's function): days that
-- ended more than an hour ago, longer than any transaction runs (statement and idle timeouts).
SELECT watermark, added_rows FROM roll_up_consumption(interval '1 hour')
