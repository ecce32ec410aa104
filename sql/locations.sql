-- Storage locations. The default location is named by configuration (DEFAULT_LOCATION_CODE).

-- name: list_locations
-- A page of locations by id, the configured default marked.
SELECT id, code, name, is_active, code = %(default_code)s AS is_default, created_at
FROM locations
WHERE id > coalesce(%(after_id)s::bigint, 0)
ORDER BY id
LIMIT %(limit)s

-- name: count_locations^
-- How many locations there are.
SELECT count(*) AS total FROM locations

-- name: create_location^
-- A new location; no row when the code is taken.
INSERT INTO locations (code, name, is_active)
VALUES (%(code)s, %(name)s, %(is_active)s)
ON CONFLICT (code) DO NOTHING
RETURNING id, code, name, is_active, code = %(default_code)s AS is_default, created_at
