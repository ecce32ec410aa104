ALTER TABLE weigh_in_drafts ALTER COLUMN draft_group_id RESET (n_distinct);
