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
