-- The DRAFT list counts its matches on pending_groups alone: each entry carries its group's list filters
-- (source, location, creator — none of them ever changes on a group), so the count no longer probes
-- draft_groups once per pending group. pending_groups holds exactly the DRAFT groups: the statements
-- that create a group add its entry, approve and reject remove it in the same statement.
-- depends: 0006_hot_approval

DELETE FROM pending_groups p USING draft_groups g WHERE g.id = p.group_id AND g.status <> 'DRAFT';

ALTER TABLE pending_groups
    ADD COLUMN source text,
    ADD COLUMN location_id bigint,
    ADD COLUMN created_by_user_id bigint;

UPDATE pending_groups p
SET source = g.source, location_id = g.location_id, created_by_user_id = g.created_by_user_id
FROM draft_groups g
WHERE g.id = p.group_id;

ALTER TABLE pending_groups
    ALTER COLUMN source SET NOT NULL,
    ALTER COLUMN location_id SET NOT NULL,
    ALTER COLUMN created_by_user_id SET NOT NULL;
