-- The DRAFT list reads pending_groups alone: each entry carries what the list shows of its group. The
-- statements that change any of it keep it in the same statement: create_group and count_inventory add
-- the entry, rename_group and edit_draft update it, approve_group and reject_group remove it. So
-- pending_groups holds exactly the DRAFT groups as they are, and a page or a count of them probes
-- neither draft_groups nor the lines.
-- depends: 0006_hot_approval

DELETE FROM pending_groups p USING draft_groups g WHERE g.id = p.group_id AND g.status <> 'DRAFT';

ALTER TABLE pending_groups
    ADD COLUMN name text,
    ADD COLUMN source text,
    ADD COLUMN location_id bigint,
    ADD COLUMN created_by_user_id bigint,
    ADD COLUMN created_at timestamptz,
    ADD COLUMN line_count integer,
    ADD COLUMN total_quantity_kg numeric(14,2);

UPDATE pending_groups p
SET name = g.name, source = g.source, location_id = g.location_id, created_by_user_id = g.created_by_user_id,
    created_at = g.created_at, line_count = s.line_count, total_quantity_kg = s.total_quantity_kg
FROM draft_groups g
CROSS JOIN LATERAL (
    SELECT count(*) AS line_count, coalesce(sum(d.quantity_kg), 0) AS total_quantity_kg
    FROM weigh_in_drafts d WHERE d.draft_group_id = g.id
) s
WHERE g.id = p.group_id;

ALTER TABLE pending_groups
    ALTER COLUMN name SET NOT NULL,
    ALTER COLUMN source SET NOT NULL,
    ALTER COLUMN location_id SET NOT NULL,
    ALTER COLUMN created_by_user_id SET NOT NULL,
    ALTER COLUMN created_at SET NOT NULL,
    ALTER COLUMN line_count SET NOT NULL,
    ALTER COLUMN total_quantity_kg SET NOT NULL;
