-- name: create_user^
-- A new user; NULL when another user has the same folded username key (service/usernames.py).
INSERT INTO users (username, username_key, password_hash, role, is_active)
VALUES (%(username)s, %(username_key)s, %(password_hash)s, %(role)s, true)
ON CONFLICT (username_key) DO NOTHING
RETURNING id, username, role, is_active, created_at, updated_at

-- name: list_users
-- A page of users by id, with the total.
SELECT id, username, role, is_active, created_at, updated_at
FROM users
WHERE id > coalesce(%(after_id)s::bigint, 0)
ORDER BY id
LIMIT %(limit)s

-- name: count_users^
-- How many users there are.
SELECT count(*) AS total FROM users

-- name: update_user^
-- Changes role / is_active / password of one user. Refuses (found, but id NULL) to demote or deactivate
-- the last active admin; run SERIALIZABLE so two admins demoting each other cannot both succeed.
-- outcome: not_found | last_admin | updated.
-- Deactivation and a password change revoke the user's refresh tokens. The user comes back as columns
-- (timestamps as timestamptz, written like every other answer's), not as row_to_json text.
WITH target AS (
    SELECT id, role, is_active FROM users WHERE id = %(id)s
), other_admins AS (
    SELECT count(*) AS n FROM users WHERE role = 'ADMIN' AND is_active AND id <> %(id)s
), updated AS (
    UPDATE users u
    SET role = coalesce(%(role)s, u.role),
        is_active = coalesce(%(is_active)s, u.is_active),
        password_hash = coalesce(%(password_hash)s, u.password_hash),
        updated_at = now()
    FROM target t, other_admins o
    WHERE u.id = t.id
      AND (o.n > 0
           OR NOT (t.role = 'ADMIN' AND t.is_active)
           OR (coalesce(%(role)s, t.role) = 'ADMIN' AND coalesce(%(is_active)s, t.is_active)))
    RETURNING u.id, u.username, u.role, u.is_active, u.created_at, u.updated_at
), revoked AS (
    UPDATE refresh_tokens r SET revoked_at = now()
    FROM updated u
    WHERE r.user_id = u.id AND r.revoked_at IS NULL AND (NOT u.is_active OR %(password_hash)s IS NOT NULL)
)
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'not_found'
            WHEN u.id IS NULL THEN 'last_admin'
            ELSE 'updated' END AS outcome,
       EXISTS (SELECT 1 FROM target) AS found, u.id, u.username, u.role, u.is_active, u.created_at, u.updated_at
FROM (VALUES (1)) one (x)
LEFT JOIN updated u ON true
