-- Transfers between locations (SPEC §10) and the audit trail's view.
-- A transfer is one row here and two ledger rows per line: TRANSFER_OUT (-q at the source) and
-- TRANSFER_IN (+q at the destination), in the line's bucket, both carrying the transfer's id.
-- transactions.transfer_id has no foreign key: its only writer (transfer_stock) inserts the transfer and
-- its ledger rows in one statement, nothing deletes a transfer, and under SERIALIZABLE a foreign-key check
-- reads the referenced key's index page, where the neighbouring transfers of concurrent requests live
-- (the page-lock false conflicts of docs/approval-contention.md: retries on the hottest insert).
-- depends: 0010_shared_sql

CREATE TABLE transfers (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_location_id bigint NOT NULL REFERENCES locations (id),
    to_location_id   bigint NOT NULL REFERENCES locations (id),
    user_id          bigint NOT NULL REFERENCES users (id),
    note             text CHECK (length(note) <= 1000),
    client_event_id  text UNIQUE CHECK (length(client_event_id) BETWEEN 1 AND 100),
    request          jsonb NOT NULL,
    -- the answer's lines as booked: line, article_id, batch_id, bucket, quantity_kg
    lines            jsonb NOT NULL CHECK (jsonb_typeof(lines) = 'array'),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (from_location_id <> to_location_id)
);
CREATE INDEX transfers_created_idx ON transfers (created_at, id);
CREATE INDEX transfers_user_idx ON transfers (user_id, created_at);

ALTER TABLE transactions ADD COLUMN transfer_id bigint;
CREATE INDEX transactions_transfer_idx ON transactions (transfer_id, id) WHERE transfer_id IS NOT NULL;

ALTER TABLE transactions DROP CONSTRAINT transactions_tx_type_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_tx_type_check CHECK (tx_type IN
    ('WEIGH_IN', 'SURPLUS_CONSUMED', 'STOCK_CONSUMED', 'INVENTORY_ADJUSTMENT', 'STOCK_RECEIPT',
     'TRANSFER_OUT', 'TRANSFER_IN'));
ALTER TABLE transactions DROP CONSTRAINT transactions_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_check CHECK (CASE tx_type
    WHEN 'WEIGH_IN' THEN bucket IS NULL AND quantity_kg > 0
    WHEN 'SURPLUS_CONSUMED' THEN bucket = 'SURPLUS' AND quantity_kg < 0
    WHEN 'STOCK_CONSUMED' THEN bucket = 'STOCK' AND quantity_kg < 0
    WHEN 'STOCK_RECEIPT' THEN bucket = 'STOCK' AND quantity_kg > 0
    WHEN 'TRANSFER_OUT' THEN bucket IS NOT NULL AND quantity_kg < 0 AND transfer_id IS NOT NULL
    WHEN 'TRANSFER_IN' THEN bucket IS NOT NULL AND quantity_kg > 0 AND transfer_id IS NOT NULL
    ELSE bucket IS NOT NULL
END);

-- A transfer's lines as transfer_stock books them: per line of `lines` (n, article_id, batch_id?,
-- quantity_kg, bucket STOCK|SURPLUS) the article and its batch (a consumable without a batch_id: its NA
-- batch), the source's balances, the first problem with what was named (NULL when none) and what the
-- line lacks after the earlier lines of its batch and bucket were served (shortage_kg). Every lookup is
-- a key probe, so SERIALIZABLE locks rows, not whole tables (guessing 100 input lines, the planner would
-- hash-join scans of articles and batches; OFFSET 0 keeps each probe per line). A SQL function: the
-- planner inlines it into transfer_stock.
CREATE FUNCTION transfer_plan(lines jsonb, from_location_id bigint)
RETURNS TABLE (n int, article_id bigint, article_no text, batch_id bigint, batch_code text, bucket text,
               quantity_kg numeric, stock numeric, surplus numeric, problem text, shortage_kg numeric)
LANGUAGE sql STABLE AS $$
    SELECT r.n, r.article_id, r.article_no, r.resolved_batch_id, r.batch_code, r.bucket, r.quantity_kg,
           r.stock, r.surplus,
           CASE WHEN NOT r.article_found THEN 'ARTICLE_NOT_FOUND'
                WHEN r.batch_id IS NULL AND r.is_paint THEN 'BATCH_REQUIRED'
                WHEN r.resolved_batch_id IS NULL THEN 'BATCH_NOT_FOUND'
                WHEN r.batch_article_id <> r.article_id THEN 'BATCH_ARTICLE_MISMATCH'
           END,
           greatest(0, least(r.quantity_kg,
                             sum(r.quantity_kg) OVER (PARTITION BY r.resolved_batch_id, r.bucket ORDER BY r.n)
                             - CASE r.bucket WHEN 'STOCK' THEN r.stock ELSE r.surplus END))
    FROM (
        SELECT i.*, a.id IS NOT NULL AS article_found, a.is_paint, a.article_no, b.id AS resolved_batch_id,
               b.article_id AS batch_article_id, b.batch_code,
               coalesce(st.quantity_kg, 0) AS stock, coalesce(sp.quantity_kg, 0) AS surplus
        FROM jsonb_to_recordset($1)
             AS i (n int, article_id bigint, batch_id bigint, quantity_kg numeric(14,2), bucket text)
        LEFT JOIN LATERAL (SELECT * FROM articles x WHERE x.id = i.article_id OFFSET 0) a ON true
        LEFT JOIN LATERAL (SELECT x.id FROM batches x
                           WHERE i.batch_id IS NULL AND NOT a.is_paint AND x.article_id = a.id
                             AND x.batch_code = 'NA'
                           OFFSET 0) na ON true
        LEFT JOIN LATERAL (SELECT * FROM batches x WHERE x.id = coalesce(i.batch_id, na.id) OFFSET 0) b ON true
        LEFT JOIN stock st ON st.location_id = $2 AND st.batch_id = b.id
        LEFT JOIN surplus sp ON sp.location_id = $2 AND sp.batch_id = b.id
    ) r
$$;

-- The audit trail's sources, for GET /api/audit: who did what to what, newest first.
CREATE INDEX approval_actions_created_idx ON approval_actions (created_at, id);
CREATE INDEX approval_actions_actor_idx ON approval_actions (actor_user_id, created_at);
CREATE INDEX inventory_counts_created_idx ON inventory_counts (created_at, id);
CREATE INDEX inventory_counts_user_idx ON inventory_counts (user_id, created_at);
CREATE INDEX inventory_counts_group_idx ON inventory_counts (shortage_group_id) WHERE shortage_group_id IS NOT NULL;
CREATE INDEX transactions_adjust_idx ON transactions (occurred_at, id) WHERE source = 'adjust';

-- One row per audited event: the approval actions (APPROVE, REJECT, EDIT, RENAME), the transfers
-- (TRANSFER), the inventory counts (COUNT) and the direct adjustments (ADJUST). `kind` and `entry_id`
-- make (at, kind, entry_id) unique: the keyset of the newest-first pages.
CREATE VIEW audit_entries AS
SELECT x.created_at AS at, 1 AS kind, x.id AS entry_id, x.action, x.actor_user_id AS actor_id,
       CASE WHEN x.draft_id IS NOT NULL THEN 'draft' ELSE 'draft_group' END AS target_type,
       coalesce(x.draft_id, x.draft_group_id) AS target_id, x.draft_group_id, NULL::bigint AS location_id,
       NULL::bigint AS article_id, NULL::bigint AS batch_id, x.old_value, x.new_value, x.note
FROM approval_actions x
UNION ALL
SELECT t.created_at, 2, t.id, 'TRANSFER', t.user_id, 'transfer', t.id, NULL, t.from_location_id, NULL, NULL,
       jsonb_build_object('location_id', t.from_location_id),
       jsonb_build_object('location_id', t.to_location_id, 'lines', t.lines), t.note
FROM transfers t
UNION ALL
SELECT c.created_at, 3, c.id, 'COUNT', c.user_id, 'inventory_count', c.id, c.shortage_group_id, c.location_id,
       c.article_id, c.batch_id,
       jsonb_build_object('stock', c.previous_stock, 'surplus', c.previous_surplus),
       jsonb_build_object('result', c.result, 'counted_total', c.counted_total, 'surplus_added', c.surplus_added,
                          'surplus_reset', c.surplus_reset, 'shortage_qty', c.shortage_qty),
       c.note
FROM inventory_counts c
UNION ALL
SELECT a.occurred_at, 4, a.id, 'ADJUST', a.user_id, 'transaction', a.id, NULL, a.location_id, a.article_id,
       a.batch_id,
       jsonb_build_object('bucket', a.bucket, 'quantity_kg', a.meta -> 'previous'),
       jsonb_build_object('bucket', a.bucket, 'quantity_kg', a.meta -> 'new', 'mode', a.meta -> 'mode'),
       a.meta ->> 'note'
FROM transactions a
WHERE a.source = 'adjust';
