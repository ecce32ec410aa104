-- Batches (manufacturer lots) of an article. Paint batch codes are 4-5 or 9-12 ASCII digits with nothing
-- after them (PostgreSQL's `$` matches only at the very end, and [0-9] only ASCII digits); consumables
-- have only their system batch 'NA', created on first use.

-- name: list_batches
-- A page of an article's batches in FEFO order: earliest expiry first (unknown expiry last), then code;
-- each with its stock and surplus summed over all locations, or at `location_id` when given.
SELECT b.id, b.article_id, a.article_no, b.batch_code, b.received_date, b.expiry_date, b.note, b.is_active,
       b.created_at, b.updated_at,
       q.stock_qty, q.surplus_qty, q.stock_qty + q.surplus_qty AS total_qty,
       coalesce(b.expiry_date, 'infinity'::date)::text AS sort_expiry
FROM articles a
JOIN batches b ON b.article_id = a.id
CROSS JOIN LATERAL (
    SELECT coalesce((SELECT sum(s.quantity_kg) FROM stock s
                     WHERE s.batch_id = b.id AND (%(location_id)s::bigint IS NULL OR s.location_id = %(location_id)s)),
                    0)::numeric(14,2) AS stock_qty,
           coalesce((SELECT sum(s.quantity_kg) FROM surplus s
                     WHERE s.batch_id = b.id AND (%(location_id)s::bigint IS NULL OR s.location_id = %(location_id)s)),
                    0)::numeric(14,2) AS surplus_qty
) q
WHERE upper(a.article_no) = upper(%(article_no)s::text)
  AND (%(active)s::boolean IS NULL OR b.is_active = %(active)s)
  AND (%(after_expiry)s::date IS NULL
       OR (coalesce(b.expiry_date, 'infinity'::date), b.batch_code) > (%(after_expiry)s::date, %(after_code)s::text))
ORDER BY coalesce(b.expiry_date, 'infinity'::date), b.batch_code
LIMIT %(limit)s

-- name: count_batches^
-- How many batches of the article match; no row when the article does not exist.
SELECT a.id AS article_id,
       (SELECT count(*) FROM batches b
        WHERE b.article_id = a.id AND (%(active)s::boolean IS NULL OR b.is_active = %(active)s)) AS total
FROM articles a
WHERE upper(a.article_no) = upper(%(article_no)s::text)

-- name: batch_detail^
-- One batch with its article_no.
SELECT b.id, b.article_id, a.article_no, b.batch_code, b.received_date, b.expiry_date, b.note, b.is_active,
       b.created_at, b.updated_at
FROM batches b
JOIN articles a ON a.id = b.article_id
WHERE b.id = %(id)s

-- name: create_batch^
-- A new batch of a paint article. Refuses (outcome) an unknown or archived article, a consumable (its
-- only batch is the system batch NA), a code outside the paint rule, and a taken code.
-- outcome: not_found (the article) | consumable | invalid_format | batch_article_archived |
-- batch_code_taken | created, with the new batch's columns.
WITH target AS (
    SELECT id, article_no, is_paint, is_active FROM articles WHERE id = %(article_id)s
), verdict AS (
    SELECT CASE
               WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'not_found'
               WHEN NOT (SELECT is_paint FROM target) THEN 'consumable'
               WHEN %(batch_code)s::text !~ '^([0-9]{4,5}|[0-9]{9,12})$' THEN 'invalid_format'
               WHEN NOT (SELECT is_active FROM target) THEN 'batch_article_archived'
               WHEN EXISTS (SELECT 1 FROM batches WHERE article_id = %(article_id)s AND batch_code = %(batch_code)s)
                   THEN 'batch_code_taken'
               ELSE 'created'
           END AS outcome
), created AS (
    INSERT INTO batches (article_id, batch_code, received_date, expiry_date, note)
    SELECT t.id, %(batch_code)s, %(received_date)s, %(expiry_date)s, %(note)s
    FROM target t, verdict v
    WHERE v.outcome = 'created'
    ON CONFLICT (article_id, batch_code) DO NOTHING
    RETURNING id, article_id, batch_code, received_date, expiry_date, note, is_active, created_at, updated_at
)
SELECT CASE WHEN v.outcome = 'created' AND c.id IS NULL THEN 'batch_code_taken' ELSE v.outcome END AS outcome,
       c.id, c.article_id, t.article_no, c.batch_code, c.received_date, c.expiry_date, c.note, c.is_active,
       c.created_at, c.updated_at
FROM verdict v
LEFT JOIN created c ON true
LEFT JOIN target t ON true

-- name: update_batch^
-- Changes a batch's note and is_active, and sets its expiry only while it is unset (the same expiry
-- again is accepted). outcome: not_found | expiry_set | updated.
WITH target AS (
    SELECT id, expiry_date FROM batches WHERE id = %(id)s
), verdict AS (
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'not_found'
                WHEN %(expiry_date)s::date IS NOT NULL AND (SELECT expiry_date FROM target) <> %(expiry_date)s::date
                    THEN 'expiry_set'
                ELSE 'updated' END AS outcome
), updated AS (
    UPDATE batches b
    SET note = CASE WHEN %(set_note)s THEN %(note)s::text ELSE b.note END,
        is_active = coalesce(%(is_active)s::boolean, b.is_active),
        expiry_date = coalesce(b.expiry_date, %(expiry_date)s::date),
        updated_at = now()
    FROM verdict v
    WHERE b.id = %(id)s AND v.outcome = 'updated'
    RETURNING b.id
)
SELECT v.outcome, (SELECT expiry_date FROM target) AS current_expiry_date FROM verdict v
