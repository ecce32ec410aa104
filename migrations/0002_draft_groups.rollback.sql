DROP INDEX transactions_group_idx;
ALTER TABLE transactions DROP COLUMN draft_group_id;
ALTER TABLE approval_actions DROP CONSTRAINT approval_actions_subject_check;
ALTER TABLE approval_actions DROP COLUMN draft_group_id;
ALTER TABLE weigh_in_drafts DROP COLUMN draft_group_id;
DROP TABLE draft_group_name_counters;
DROP TABLE draft_groups;
