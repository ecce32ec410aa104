-- name: create_user
-- A new user; NULL when the username is taken (case-insensitively).
INSERT INTO users (username, password_hash, role, is_active)
VALUES (%(username)s, %(password_hash)s, %(role)s, true)
ON CONFLICT ((lower(username))) DO NOTHING
RETURNING id, username, role, is_active, created_at
