-- SQL said once: the views and functions the statements in sql/ share, for a DBA to review here once.
-- depends: 0009_ended_logins

-- A draft line as every answer shows it: the line with its article's and batch's readable names.
CREATE VIEW readable_drafts AS
SELECT d.id, d.draft_group_id, d.location_id, d.article_id, d.batch_id, d.quantity_kg, d.status, d.draft_type,
       d.source, d.client_event_id, d.note, d.created_by_user_id, d.created_at,
       a.article_no, a.description, b.batch_code, b.expiry_date, a.uom,
       d.consumed_surplus_kg, d.consumed_stock_kg
FROM weigh_in_drafts d
JOIN articles a ON a.id = d.article_id
JOIN batches b ON b.id = d.batch_id;

-- A group's header as a group's answer shows it, with its creator's name.
CREATE VIEW readable_groups AS
SELECT g.id AS group_id, g.name AS group_name, g.status AS group_status, g.source AS group_source,
       g.location_id AS group_location_id, g.created_by_user_id AS group_created_by_user_id,
       u.username AS group_created_by_name, g.created_at AS group_created_at,
       g.decided_by_user_id, g.decided_at, g.decision_note
FROM draft_groups g
JOIN users u ON u.id = g.created_by_user_id;

-- A ledger row as the API and the reports show it, with readable names.
CREATE VIEW ledger_rows AS
SELECT t.id, t.occurred_at, t.tx_type, t.bucket, t.quantity_kg, t.location_id, l.code AS location_code,
       t.article_id, a.article_no, a.description, t.batch_id, b.batch_code, t.user_id, u.username AS user_name,
       t.source, t.client_event_id, t.order_number, t.draft_id, t.draft_group_id, r.receipt_key,
       t.meta ->> 'note' AS note
FROM transactions t
JOIN locations l ON l.id = t.location_id
JOIN articles a ON a.id = t.article_id
JOIN batches b ON b.id = t.batch_id
LEFT JOIN users u ON u.id = t.user_id
LEFT JOIN receipts r ON r.id = t.receipt_id;

-- The ledger rows matching the filters of GET /api/transactions (each NULL filter matches all; `before`
-- is exclusive). A single SQL query: the planner inlines it into the calling statement, indexes and all.
CREATE FUNCTION matching_ledger_rows(tx_type text, bucket text, location_id bigint, article_id bigint,
                                     batch_id bigint, order_number text, from_at timestamptz,
                                     before_at timestamptz)
RETURNS SETOF ledger_rows
LANGUAGE sql STABLE AS $$
    SELECT * FROM ledger_rows t
    WHERE ($1 IS NULL OR t.tx_type = $1)
      AND ($2 IS NULL OR t.bucket = $2)
      AND ($3 IS NULL OR t.location_id = $3)
      AND ($4 IS NULL OR t.article_id = $4)
      AND ($5 IS NULL OR t.batch_id = $5)
      AND ($6 IS NULL OR t.order_number = $6)
      AND ($7 IS NULL OR t.occurred_at >= $7)
      AND ($8 IS NULL OR t.occurred_at < $8)
$$;

-- An article as the API shows it: its aliases and when it was last consumed (the newest WEIGH_IN, one
-- probe of the partial index transactions_last_consumed_idx). The subqueries run only for the rows read.
CREATE VIEW readable_articles AS
SELECT a.id, a.article_no, a.description, a.article_group, a.uom, a.pack_size, a.pack_uom, a.barcode,
       a.manufacturer, a.manufacturer_art_number, a.reorder_threshold, a.is_paint, a.is_active,
       a.created_at, a.updated_at,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', al.id, 'alias', al.alias) ORDER BY al.id)
                 FROM article_aliases al WHERE al.article_id = a.id), '[]') AS aliases,
       (SELECT max(t.occurred_at) FROM transactions t
        WHERE t.article_id = a.id AND t.tx_type = 'WEIGH_IN') AS last_consumed_at
FROM articles a;

-- The articles matching the filters of GET /api/articles (each NULL filter matches all): active,
-- is_paint, and a substring (`like`, an ILIKE pattern) of article_no, description or an alias. A single
-- SQL query: inlined into the calling statement; a count of it does not read the aliases and ledger.
CREATE FUNCTION matching_articles(active boolean, is_paint boolean, like_pattern text)
RETURNS SETOF readable_articles
LANGUAGE sql STABLE AS $$
    SELECT * FROM readable_articles a
    WHERE ($1 IS NULL OR a.is_active = $1)
      AND ($2 IS NULL OR a.is_paint = $2)
      AND ($3 IS NULL
           OR a.article_no ILIKE $3 OR a.description ILIKE $3
           OR EXISTS (SELECT 1 FROM article_aliases al WHERE al.article_id = a.id AND al.alias ILIKE $3))
$$;
