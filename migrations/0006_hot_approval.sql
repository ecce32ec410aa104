-- Approvals in creation order must not abort each other under SERIALIZABLE (docs/approval-contention.md):
-- the status flip of a group and its lines has to be a HOT update, so no index may cover `status` and
-- pages keep room for the new row versions. DRAFT groups are found through `pending_groups` instead
-- of an index on status.
-- depends: 0005_idempotency_keys

ALTER TABLE weigh_in_drafts DROP CONSTRAINT weigh_in_drafts_group_fkey;
ALTER TABLE draft_groups DROP CONSTRAINT draft_groups_id_location_id_status_key;
ALTER TABLE draft_groups ADD CONSTRAINT draft_groups_id_location_id_key UNIQUE (id, location_id);
-- a line shares its group's location; its status is kept equal by the statements, which always change
-- a group and its lines in one statement
ALTER TABLE weigh_in_drafts
    ADD CONSTRAINT weigh_in_drafts_group_fkey
    FOREIGN KEY (draft_group_id, location_id) REFERENCES draft_groups (id, location_id);

DROP INDEX draft_groups_status_idx;
DROP INDEX weigh_in_drafts_status_idx;
DROP INDEX weigh_in_drafts_pending_idx;

-- The DRAFT groups. (As first written, entries of decided groups were pruned in the background; since
-- 0007 the statements that decide a group remove its entry, so the table holds exactly the DRAFT groups.)
CREATE TABLE pending_groups (
    group_id bigint PRIMARY KEY REFERENCES draft_groups (id) ON DELETE CASCADE
);
INSERT INTO pending_groups (group_id) SELECT id FROM draft_groups WHERE status = 'DRAFT';

ALTER TABLE weigh_in_drafts SET (fillfactor = 45);
ALTER TABLE draft_groups SET (fillfactor = 45);
ALTER TABLE stock SET (fillfactor = 50);
ALTER TABLE surplus SET (fillfactor = 50);
