ALTER TABLE pending_groups
    DROP COLUMN source,
    DROP COLUMN location_id,
    DROP COLUMN created_by_user_id;
