-- SQL said once: the views and functions the statements in sql/ share, for a DBA to review here once.
-- depends: 0009_ended_logins

-- A draft line as every answer shows it: the line with its article's and batch's readable names.
CREATE VIEW readable_drafts AS
SELECT d.id, d.draft_group_id, d.location_id, d.article_id, d.batch_id, d.quantity_kg, d.status, d.draft_type,
       d.source, d.client_event_id, d.note, d.created_by_user_id, d.created_at,
       a.article_no, a.description, b.batch_code, b.expiry_date, a.uom,
       d.consumed_surplus_kg, d.consumed_stock_kg
FROM weigh_in_drafts d
JOIN articles a ON a.id = d.article_id
JOIN batches b ON b.id = d.batch_id;

-- A group's header as a group's answer shows it, with its creator's name.
CREATE VIEW readable_groups AS
SELECT g.id AS group_id, g.name AS group_name, g.status AS group_status, g.source AS group_source,
       g.location_id AS group_location_id, g.created_by_user_id AS group_created_by_user_id,
       u.username AS group_created_by_name, g.created_at AS group_created_at,
       g.decided_by_user_id, g.decided_at, g.decision_note
FROM draft_groups g
JOIN users u ON u.id = g.created_by_user_id;
