-- Draft groups and their lines (drafts). Every statement that changes a group's status changes its
-- lines in the same statement, so a group and its lines never disagree. No index covers `status`
-- (docs/approval-contention.md): DRAFT groups are found through `pending_groups`, which triggers keep in
-- step with the groups and their lines (migration 0010); pending_groups_drift says where it is not.

-- name: ensure_na_batches!
-- The per-article system batch 'NA' exists for each given consumable (race-free: ON CONFLICT).
INSERT INTO batches (article_id, batch_code, expiry_date, note)
SELECT a.id, 'NA', DATE '2099-12-31', 'system batch'
FROM articles a
WHERE a.id = ANY(%(article_ids)s::bigint[]) AND NOT a.is_paint
ON CONFLICT (article_id, batch_code) DO NOTHING

-- name: create_group^
-- Creates a group and all its lines in one statement, or nothing. Returns one row: `outcome` (create |
-- replay | duplicate_event | location_not_found | invalid_lines) and, for the last two refusals, `problems`
-- naming each line (n) and what is wrong. A replay is a re-send whose client_event_ids all name lines
-- with the same content in one existing group (of exactly these lines when `whole_group`).
WITH input AS (
    SELECT l.n, l.article_id, l.batch_id, l.quantity_kg, l.client_event_id, l.note, l.draft_type
    FROM jsonb_to_recordset(%(lines)s::jsonb)
         AS l (n int, article_id bigint, batch_id bigint, quantity_kg numeric(14,2), client_event_id text,
               note text, draft_type text)
), loc AS (
    SELECT default_location_id(%(location_id)s::bigint, %(default_location_code)s) AS id
), resolved AS (
    SELECT i.*, a.id IS NOT NULL AS article_found, a.is_paint, a.is_active AS article_active,
           coalesce(i.batch_id, na.id) AS resolved_batch_id, b.id IS NOT NULL AS batch_found,
           b.article_id AS batch_article_id, b.is_active AS batch_active
    FROM input i
    LEFT JOIN articles a ON a.id = i.article_id
    LEFT JOIN batches na ON i.batch_id IS NULL AND NOT a.is_paint AND na.article_id = a.id AND na.batch_code = 'NA'
    LEFT JOIN batches b ON b.id = coalesce(i.batch_id, na.id)
), problems AS (
    SELECT n, article_id, batch_id, code FROM (
        SELECT n, article_id, batch_id, CASE
                   WHEN NOT article_found THEN 'ARTICLE_NOT_FOUND'
                   WHEN batch_id IS NULL AND is_paint THEN 'BATCH_REQUIRED'
                   WHEN NOT batch_found THEN 'BATCH_NOT_FOUND'
                   WHEN batch_article_id <> article_id THEN 'BATCH_ARTICLE_MISMATCH'
                   WHEN NOT article_active THEN 'ARTICLE_ARCHIVED'
                   WHEN NOT batch_active THEN 'BATCH_INACTIVE'
               END AS code
        FROM resolved
    ) checked
    WHERE code IS NOT NULL
), existing AS (
    SELECT r.n, r.client_event_id, d.draft_group_id,
           (d.article_id, d.batch_id, d.quantity_kg, d.draft_type, d.location_id, coalesce(d.note, ''))
             IS NOT DISTINCT FROM
           (r.article_id, r.resolved_batch_id, r.quantity_kg, r.draft_type, (SELECT id FROM loc), coalesce(r.note, ''))
             AS same
    FROM resolved r
    JOIN weigh_in_drafts d ON d.client_event_id = r.client_event_id
), verdict AS (
    SELECT CASE
               WHEN (SELECT id FROM loc) IS NULL THEN 'location_not_found'
               WHEN EXISTS (SELECT 1 FROM problems) THEN 'invalid_lines'
               WHEN NOT EXISTS (SELECT 1 FROM existing) THEN 'create'
               WHEN (SELECT bool_and(same) AND count(*) = (SELECT count(*) FROM input)
                            AND count(DISTINCT draft_group_id) = 1 FROM existing)
                    AND (NOT %(whole_group)s
                         OR (SELECT count(*) FROM weigh_in_drafts
                             WHERE draft_group_id = (SELECT min(draft_group_id) FROM existing))
                            = (SELECT count(*) FROM input))
                    THEN 'replay'
               ELSE 'duplicate_event'
           END AS outcome
), grp AS (
    INSERT INTO draft_groups (name, source, location_id, created_by_user_id)
    SELECT coalesce(%(name)s::text, next_group_name(%(name_prefix)s)), %(source)s, loc.id, %(user_id)s
    FROM verdict v CROSS JOIN loc
    WHERE v.outcome = 'create'
    RETURNING id, source, location_id, created_by_user_id
), lines AS (
    INSERT INTO weigh_in_drafts (draft_group_id, location_id, article_id, batch_id, quantity_kg, draft_type,
                                 source, client_event_id, note, created_by_user_id)
    SELECT g.id, g.location_id, r.article_id, r.resolved_batch_id, r.quantity_kg, r.draft_type, g.source,
           r.client_event_id, r.note, g.created_by_user_id
    FROM grp g CROSS JOIN resolved r
    ORDER BY r.n
    RETURNING id
)
SELECT v.outcome,
       (SELECT id FROM grp) AS group_id,
       (SELECT count(*) FROM lines) AS lines_created,
       CASE v.outcome
           WHEN 'invalid_lines' THEN (SELECT jsonb_agg(jsonb_build_object('n', n, 'code', code, 'article_id', article_id,
                                                                    'batch_id', batch_id) ORDER BY n)
                                FROM problems)
           WHEN 'duplicate_event' THEN (SELECT jsonb_agg(jsonb_build_object('n', n, 'client_event_id', client_event_id)
                                                   ORDER BY n)
                                  FROM existing WHERE NOT same OR %(whole_group)s)
       END AS problems
FROM verdict v

-- name: group_detail
-- One group with its readable lines, one row per line (one row with NULL line columns when empty); each
-- row carries the group's total_quantity_kg.
-- Found by id, or by the id or client_event_id of one of its lines. Operators see only their own groups.
SELECT g.*, coalesce(sum(d.quantity_kg) OVER (), 0.00) AS total_quantity_kg, d.*
FROM readable_groups g
LEFT JOIN readable_drafts d ON d.draft_group_id = g.group_id
WHERE g.group_id = coalesce(%(group_id)s::bigint,
                            (SELECT draft_group_id FROM weigh_in_drafts WHERE id = %(draft_id)s::bigint),
                            (SELECT draft_group_id FROM weigh_in_drafts WHERE client_event_id = %(client_event_id)s::text))
  AND (%(viewer_is_admin)s OR g.group_created_by_user_id = %(viewer_id)s)
ORDER BY d.id

-- name: list_groups
-- A page of group summaries, newest first, with line count and total quantity per group; every row
-- carries how many groups match the filters (`total`), and an empty page is one row with only that.
WITH matching AS NOT MATERIALIZED (
    SELECT g.* FROM draft_groups g
    WHERE (%(status)s::text IS NULL OR g.status = %(status)s)
      AND group_filters_match(g.source, g.location_id, g.created_by_user_id,
                              %(source)s::text, %(location_id)s::bigint, %(created_by)s::bigint)
)
SELECT counted.total, page.*
FROM (SELECT count(*) AS total FROM matching) counted
LEFT JOIN LATERAL (
    SELECT g.id, g.name, g.status, g.source, g.location_id, g.created_by_user_id,
           u.username AS created_by_name, g.created_at, g.decided_by_user_id, g.decided_at, s.line_count,
           s.total_quantity_kg
    FROM matching g
    JOIN users u ON u.id = g.created_by_user_id
    CROSS JOIN LATERAL (
        SELECT count(*) AS line_count, coalesce(sum(d.quantity_kg), 0) AS total_quantity_kg
        FROM weigh_in_drafts d WHERE d.draft_group_id = g.id
    ) s
    WHERE g.id < coalesce(%(after_id)s::bigint, 9223372036854775807)
    ORDER BY g.id DESC
    LIMIT %(limit)s
) page ON true
ORDER BY page.id DESC

-- name: list_pending_groups
-- list_groups for status=DRAFT, but oldest first (a work queue: the groups waiting longest come first,
-- so none is pushed off the first page by newer ones), read from pending_groups alone (exactly the DRAFT groups, each with its
-- list columns, see migration 0007): flat in the size of history, no probe of draft_groups or the lines.
WITH matching AS NOT MATERIALIZED (
    SELECT p.* FROM pending_group_summaries p
    WHERE group_filters_match(p.source, p.location_id, p.created_by_user_id,
                              %(source)s::text, %(location_id)s::bigint, %(created_by)s::bigint)
)
SELECT counted.total, page.*
FROM (SELECT count(*) AS total FROM matching) counted
LEFT JOIN LATERAL (
    SELECT * FROM matching p WHERE p.id > coalesce(%(after_id)s::bigint, 0) ORDER BY p.id LIMIT %(limit)s
) page ON true
ORDER BY page.id

-- name: list_all_pending_groups
-- list_pending_groups when no filter is given (the admins' DRAFT list): the same page and total. Kept
-- apart because a generic plan tests even absent filters on every pending group it counts, a third of
-- the statement's time at 1,000 pending (docs/performance.md).
SELECT counted.total, page.*
FROM (SELECT count(*) AS total FROM pending_groups) counted
LEFT JOIN LATERAL (
    SELECT * FROM pending_group_summaries p
    WHERE p.id > coalesce(%(after_id)s::bigint, 0) ORDER BY p.id LIMIT %(limit)s
) page ON true
ORDER BY page.id

-- name: pending_groups_drift
-- Where pending_groups differs from what it must hold (pending_groups_expected, migration 0010: every
-- DRAFT group with its line count and total): one row per group whose entry is wrong, missing or extra,
-- with the entry kept and the one expected (NULL when there is none). Empty when healthy. A check, not
-- a request's statement: it reads every DRAFT group through draft_groups.
SELECT coalesce(k.group_id, e.group_id) AS group_id, to_jsonb(k) AS kept, to_jsonb(e) AS expected
FROM pending_groups k
FULL JOIN pending_groups_expected e ON e.group_id = k.group_id
WHERE to_jsonb(k) IS DISTINCT FROM to_jsonb(e)
ORDER BY 1

-- name: rename_group^
-- Renames a DRAFT group (admin or its creator) and audits it as RENAME.
-- outcome: not_found | not_draft | renamed.
WITH target AS (
    SELECT id, name, status FROM draft_groups
    WHERE id = %(group_id)s AND (%(actor_is_admin)s OR created_by_user_id = %(actor_id)s)
    FOR UPDATE  -- a concurrent approval or rename first commits; the status and old name are then current
), renamed AS (
    UPDATE draft_groups g SET name = %(name)s
    FROM target t WHERE g.id = t.id AND t.status = 'DRAFT'
    RETURNING g.id
), audit AS (
    INSERT INTO approval_actions (action, draft_group_id, actor_user_id, old_value, new_value)
    SELECT 'RENAME', t.id, %(actor_id)s, jsonb_build_object('name', t.name), jsonb_build_object('name', %(name)s::text)
    FROM target t JOIN renamed r ON r.id = t.id
)
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'not_found'
            WHEN NOT EXISTS (SELECT 1 FROM renamed) THEN 'not_draft'
            ELSE 'renamed' END AS outcome

-- name: reject_group^
-- Rejects a DRAFT group and its lines (no balance moves) and audits it with the note. The group is
-- named directly or by one of its lines (`draft_id`, which must then be its only line).
-- outcome: not_found | not_draft | group_required | rejected.
WITH target AS (
    SELECT g.id, g.status, (SELECT count(*) FROM weigh_in_drafts d WHERE d.draft_group_id = g.id) AS line_count
    FROM draft_groups g
    WHERE g.id = coalesce(%(group_id)s::bigint,
                          (SELECT draft_group_id FROM weigh_in_drafts WHERE id = %(draft_id)s::bigint))
), verdict AS (
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'not_found'
                WHEN (SELECT status FROM target) <> 'DRAFT' THEN 'not_draft'
                WHEN %(draft_id)s::bigint IS NOT NULL AND (SELECT line_count FROM target) > 1 THEN 'group_required'
                ELSE 'rejected' END AS outcome
), lines_done AS (
    UPDATE weigh_in_drafts d SET status = 'REJECTED', updated_at = now()
    FROM target t, verdict v WHERE d.draft_group_id = t.id AND v.outcome = 'rejected'
), group_done AS (
    UPDATE draft_groups g
    SET status = 'REJECTED', decided_by_user_id = %(actor_id)s, decided_at = now(), decision_note = %(note)s
    FROM target t, verdict v WHERE g.id = t.id AND v.outcome = 'rejected'
), audit AS (
    INSERT INTO approval_actions (action, draft_group_id, actor_user_id, old_value, new_value, note)
    SELECT 'REJECT', t.id, %(actor_id)s, '{"status": "DRAFT"}', '{"status": "REJECTED"}', %(note)s
    FROM target t, verdict v WHERE v.outcome = 'rejected'
)
SELECT v.outcome, t.id AS group_id FROM verdict v LEFT JOIN target t ON true

-- name: approve_group
-- Approves a DRAFT group in one statement (run it SERIALIZABLE), as group_allocation (migration 0010)
-- allocates it: INVENTORY_SHORTAGE lines from stock first, then WEIGH_IN lines surplus first, per key
-- in draft-id order. If any line is short, nothing is written and every line comes back with what it
-- lacks (shortage_kg). On success balances move once per key (aggregated: a row is updated only once
-- per statement), the ledger gets its rows, group and lines become APPROVED (its pending_groups entry
-- goes by trigger) and the audit row is written.
-- The group is named directly or by one of its lines (`draft_id`, which must then be its only line).
-- outcome: not_found | not_draft | group_required | empty | short | approved; one row per line.
WITH target AS (
    SELECT g.* FROM readable_groups g
    WHERE g.group_id = coalesce(%(group_id)s::bigint,
                                (SELECT draft_group_id FROM weigh_in_drafts WHERE id = %(draft_id)s::bigint))
), alloc AS (
    SELECT a.* FROM target t CROSS JOIN LATERAL group_allocation(t.group_id) a
), verdict AS (
    SELECT o.outcome, o.outcome = 'approved' AS ok
    FROM (SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'not_found'
                      WHEN (SELECT group_status FROM target) <> 'DRAFT' THEN 'not_draft'
                      WHEN %(draft_id)s::bigint IS NOT NULL AND (SELECT count(*) FROM alloc) > 1 THEN 'group_required'
                      WHEN NOT EXISTS (SELECT 1 FROM alloc) THEN 'empty'
                      WHEN EXISTS (SELECT 1 FROM alloc WHERE shortage > 0) THEN 'short'
                      ELSE 'approved' END AS outcome) o
), per_key AS (
    SELECT a.location_id, a.batch_id, sum(a.from_stock) AS stock_used, sum(a.from_surplus) AS surplus_used
    FROM alloc a, verdict v
    WHERE v.ok
    GROUP BY a.location_id, a.batch_id
), stock_moved AS (
    UPDATE stock s SET quantity_kg = s.quantity_kg - k.stock_used, updated_at = now()
    FROM per_key k
    WHERE s.location_id = k.location_id AND s.batch_id = k.batch_id AND k.stock_used > 0
), surplus_moved AS (
    UPDATE surplus s SET quantity_kg = s.quantity_kg - k.surplus_used, updated_at = now()
    FROM per_key k
    WHERE s.location_id = k.location_id AND s.batch_id = k.batch_id AND k.surplus_used > 0
), ledger AS (
    INSERT INTO transactions (tx_type, bucket, quantity_kg, location_id, article_id, batch_id, user_id, source,
                              client_event_id, draft_id, draft_group_id, meta)
    SELECT m.tx_type, m.bucket, m.quantity_kg, a.location_id, a.article_id, a.batch_id, %(actor_id)s, a.source,
           a.client_event_id, a.id, a.draft_group_id, jsonb_build_object('created_by_user_id', a.created_by_user_id)
    FROM alloc a
    CROSS JOIN verdict v
    CROSS JOIN LATERAL (VALUES
        ('WEIGH_IN', NULL, a.quantity_kg, a.draft_type = 'WEIGH_IN'),
        ('SURPLUS_CONSUMED', 'SURPLUS', -a.from_surplus, a.draft_type = 'WEIGH_IN' AND a.from_surplus > 0),
        ('STOCK_CONSUMED', 'STOCK', -a.from_stock, a.draft_type = 'WEIGH_IN' AND a.from_stock > 0),
        ('INVENTORY_ADJUSTMENT', 'STOCK', -a.quantity_kg, a.draft_type = 'INVENTORY_SHORTAGE')
    ) AS m (tx_type, bucket, quantity_kg, wanted)
    WHERE v.ok AND m.wanted
    ORDER BY a.id
), lines_done AS (
    UPDATE weigh_in_drafts d
    SET status = 'APPROVED', consumed_surplus_kg = a.from_surplus, consumed_stock_kg = a.from_stock,
        updated_at = now()
    FROM alloc a, verdict v
    WHERE d.id = a.id AND v.ok
), group_done AS (
    UPDATE draft_groups g
    SET status = 'APPROVED', decided_by_user_id = %(actor_id)s, decided_at = now(), decision_note = %(note)s
    FROM target t, verdict v
    WHERE g.id = t.group_id AND v.ok
), audit AS (
    INSERT INTO approval_actions (action, draft_group_id, actor_user_id, old_value, new_value, note)
    SELECT 'APPROVE', t.group_id, %(actor_id)s, '{"status": "DRAFT"}',
           jsonb_build_object('status', 'APPROVED', 'lines', (SELECT count(*) FROM alloc)), %(note)s
    FROM target t, verdict v
    WHERE v.ok
)
SELECT v.outcome, t.group_id, t.group_name, CASE WHEN v.ok THEN 'APPROVED' ELSE t.group_status END AS group_status,
       t.group_source, t.group_location_id, t.group_created_by_user_id, t.group_created_by_name, t.group_created_at,
       coalesce(sum(a.quantity_kg) OVER (), 0.00) AS total_quantity_kg,
       CASE WHEN v.ok THEN %(actor_id)s::bigint END AS decided_by_user_id,
       CASE WHEN v.ok THEN now() END AS decided_at,
       CASE WHEN v.ok THEN %(note)s::text END AS decision_note,
       a.id, t.group_id AS draft_group_id, a.location_id, a.article_id, a.batch_id, a.quantity_kg,
       CASE WHEN v.ok THEN 'APPROVED' ELSE 'DRAFT' END AS status,
       a.draft_type, a.source, a.client_event_id, a.note, a.created_by_user_id, a.created_at,
       a.article_no, a.description, a.batch_code, a.expiry_date, a.uom,
       CASE WHEN v.ok THEN a.from_surplus END AS consumed_surplus_kg,
       CASE WHEN v.ok THEN a.from_stock END AS consumed_stock_kg,
       a.stock AS available_stock_kg, a.surplus AS available_surplus_kg, a.shortage AS shortage_kg
FROM verdict v
LEFT JOIN target t ON true
LEFT JOIN alloc a ON true
ORDER BY a.id
