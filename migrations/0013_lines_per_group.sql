-- The planner's count of groups among the lines. A group's lines are written together and sit together on
-- the heap, so once weigh_in_drafts outgrows ANALYZE's sample (30,000 pages at the default statistics
-- target, about 130k groups) the sample holds neighbouring lines of one group and ANALYZE takes groups to
-- be few and large: at 5M lines it counted 171k groups for 1M (29 lines each, against 5). The approval and
-- a group's detail then read every article (a merge or hash join) instead of the few their lines name.
-- Fixed as a share of the lines, so it grows with the table: a group has 5 lines on average (a scale posts
-- one; an admin's group from the desktop app a handful). A lower guess than the truth costs a few index
-- lookups more; a higher one is what went wrong.
-- depends: 0012_stock_reads

ALTER TABLE weigh_in_drafts ALTER COLUMN draft_group_id SET (n_distinct = -0.2);
