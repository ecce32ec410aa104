DROP FUNCTION matching_articles(boolean, boolean, text);
DROP VIEW readable_articles;
DROP FUNCTION matching_ledger_rows(text, text, bigint, bigint, bigint, text, timestamptz, timestamptz);
DROP VIEW ledger_rows;
DROP VIEW readable_groups;
DROP VIEW readable_drafts;
