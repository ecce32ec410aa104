ALTER TABLE surplus RESET (fillfactor);
ALTER TABLE stock RESET (fillfactor);
ALTER TABLE draft_groups RESET (fillfactor);
ALTER TABLE weigh_in_drafts RESET (fillfactor);
DROP TABLE pending_groups;
CREATE INDEX weigh_in_drafts_pending_idx ON weigh_in_drafts (location_id, batch_id) WHERE status = 'DRAFT';
CREATE INDEX weigh_in_drafts_status_idx ON weigh_in_drafts (status, id);
CREATE INDEX draft_groups_status_idx ON draft_groups (status, id);
ALTER TABLE weigh_in_drafts DROP CONSTRAINT weigh_in_drafts_group_fkey;
ALTER TABLE draft_groups DROP CONSTRAINT draft_groups_id_location_id_key;
ALTER TABLE draft_groups ADD CONSTRAINT draft_groups_id_location_id_status_key UNIQUE (id, location_id, status);
ALTER TABLE weigh_in_drafts
    ADD CONSTRAINT weigh_in_drafts_group_fkey
    FOREIGN KEY (draft_group_id, location_id, status) REFERENCES draft_groups (id, location_id, status);
