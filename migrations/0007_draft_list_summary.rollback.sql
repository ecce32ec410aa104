ALTER TABLE pending_groups
    DROP COLUMN name,
    DROP COLUMN source,
    DROP COLUMN location_id,
    DROP COLUMN created_by_user_id,
    DROP COLUMN created_at,
    DROP COLUMN line_count,
    DROP COLUMN total_quantity_kg;
