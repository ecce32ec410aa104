-- Single drafts (lines), as the older client sees them.

-- name: draft_detail^
-- One readable line. Operators see only their own.
SELECT d.*
FROM readable_drafts d
WHERE d.id = coalesce(%(draft_id)s::bigint,
                      (SELECT id FROM weigh_in_drafts WHERE client_event_id = %(client_event_id)s))
  AND (%(viewer_is_admin)s OR d.created_by_user_id = %(viewer_id)s)

-- name: list_drafts
-- A page of readable lines: the caller's own first, newest first, then everyone else's, newest first (so
-- a screen of "my recent drafts" finds them on the first page). Each part is read down an index and cut
-- at the page size before the two are put together; the keyset is (mine, id), `after_mine` 1 or 0.
WITH matching AS NOT MATERIALIZED (
    SELECT d.* FROM readable_drafts d
    WHERE (%(status)s::text IS NULL OR d.status = %(status)s)
      AND (%(draft_type)s::text IS NULL OR d.draft_type = %(draft_type)s)
      AND (%(location_id)s::bigint IS NULL OR d.location_id = %(location_id)s)
      AND (%(article_id)s::bigint IS NULL OR d.article_id = %(article_id)s)
      AND (%(created_by)s::bigint IS NULL OR d.created_by_user_id = %(created_by)s)
), mine AS (
    SELECT m.*, 1 AS mine FROM matching m
    WHERE m.created_by_user_id = %(viewer_id)s AND coalesce(%(after_mine)s::int, 1) = 1
      AND m.id < coalesce(%(after_id)s::bigint, 9223372036854775807)
    ORDER BY m.id DESC
    LIMIT %(limit)s
), others AS (
    SELECT m.*, 0 AS mine FROM matching m
    WHERE m.created_by_user_id <> %(viewer_id)s
      AND m.id < CASE WHEN %(after_mine)s::int = 0 THEN %(after_id)s::bigint ELSE 9223372036854775807 END
    ORDER BY m.id DESC
    LIMIT %(limit)s
)
SELECT d.*
FROM (SELECT * FROM mine UNION ALL SELECT * FROM others) d
ORDER BY d.mine DESC, d.id DESC
LIMIT %(limit)s

-- name: count_drafts^
-- How many lines match the list filters.
SELECT count(*) AS total
FROM weigh_in_drafts d
WHERE (%(status)s::text IS NULL OR d.status = %(status)s)
  AND (%(draft_type)s::text IS NULL OR d.draft_type = %(draft_type)s)
  AND (%(location_id)s::bigint IS NULL OR d.location_id = %(location_id)s)
  AND (%(article_id)s::bigint IS NULL OR d.article_id = %(article_id)s)
  AND (%(created_by)s::bigint IS NULL OR d.created_by_user_id = %(created_by)s)

-- name: edit_draft^
-- Changes a DRAFT line's quantity and/or note (admin or its creator), audited as EDIT with old and new
-- values (the group's total in the DRAFT list follows by trigger, migration 0010).
-- outcome: not_found | not_editable | edited.
WITH target AS (
    SELECT id, draft_group_id, quantity_kg, note, status FROM weigh_in_drafts
    WHERE id = %(draft_id)s AND (%(actor_is_admin)s OR created_by_user_id = %(actor_id)s)
    FOR UPDATE  -- a concurrent edit or decision first commits; the old values below are then current
), edited AS (
    UPDATE weigh_in_drafts d
    SET quantity_kg = coalesce(%(quantity_kg)s::numeric, d.quantity_kg),
        note = CASE WHEN %(set_note)s THEN %(note)s::text ELSE d.note END,
        updated_at = now()
    FROM target t WHERE d.id = t.id AND t.status = 'DRAFT'
    RETURNING d.id, d.quantity_kg, d.note
), audit AS (
    INSERT INTO approval_actions (action, draft_id, draft_group_id, actor_user_id, old_value, new_value)
    SELECT 'EDIT', t.id, t.draft_group_id, %(actor_id)s,
           jsonb_build_object('quantity_kg', t.quantity_kg, 'note', t.note),
           jsonb_build_object('quantity_kg', e.quantity_kg, 'note', e.note)
    FROM target t JOIN edited e ON e.id = t.id
)
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'not_found'
            WHEN NOT EXISTS (SELECT 1 FROM edited) THEN 'not_editable'
            ELSE 'edited' END AS outcome
