DROP VIEW readable_groups;
DROP VIEW readable_drafts;
