-- name: user_for_login^
-- The account a login names (by the folded username key), whether or not it is active.
SELECT id, username, password_hash, role, is_active
FROM users
WHERE username_key = %(username_key)s

-- name: update_password_hash!
-- Stores an upgraded hash of the same password (argon2 parameters changed).
UPDATE users SET password_hash = %(password_hash)s WHERE id = %(id)s

-- name: issue_refresh_token!
-- Stores a new refresh token (its digest) in a new family (a login). A user keeps at most 50 logins:
-- every token of the user's unrevoked families beyond the newest 49 is deleted, so the oldest login ends.
WITH older AS (
    SELECT family_id FROM refresh_tokens
    WHERE user_id = %(user_id)s AND revoked_at IS NULL
    GROUP BY family_id
    ORDER BY max(id) DESC
    OFFSET 49
), ended AS (
    DELETE FROM refresh_tokens WHERE family_id IN (SELECT family_id FROM older)
)
INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
VALUES (%(user_id)s, %(family_id)s, %(token_hash)s, now() + make_interval(days => %(days)s))

-- name: user_access^
-- What the auth middleware trusts about a user: the role, whether the account is active, and the
-- logins (refresh-token families) revoked in the last `ended_within` seconds, whose access tokens may
-- be unexpired still and are refused.
SELECT u.id, u.username, u.role, u.is_active,
       ARRAY(SELECT DISTINCT r.family_id::text
             FROM refresh_tokens r
             WHERE r.user_id = u.id AND r.revoked_at > now() - make_interval(secs => %(ended_within)s))
           AS ended_logins
FROM users u
WHERE u.id = %(id)s

-- name: refresh^
-- Exchanges a refresh token for a new one in the same family, all in one statement.
-- reuse mode: the presented token stays valid until it expires or is revoked; a login keeps at most 10
-- tokens (the presented one, the one issued now and the 8 newest others; older ones are deleted).
-- strict mode: the token is single-use; presenting a used one revokes its whole family.
-- One row: outcome invalid_token (unknown, expired, revoked, reused or a disabled user; the other columns
-- NULL) | refreshed.
WITH presented AS (
    SELECT t.id, t.user_id, t.family_id, t.used_at, t.revoked_at, t.expires_at,
           u.username, u.role, u.is_active
    FROM refresh_tokens t
    JOIN users u ON u.id = t.user_id
    WHERE t.token_hash = %(token_hash)s
), consumed AS (
    UPDATE refresh_tokens t SET used_at = now()
    FROM presented p
    WHERE t.id = p.id AND %(strict)s AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now()
    RETURNING t.id
), valid AS (
    SELECT p.* FROM presented p
    WHERE p.revoked_at IS NULL AND p.expires_at > now() AND p.is_active
      AND (NOT %(strict)s OR EXISTS (SELECT 1 FROM consumed))
), reused AS (
    UPDATE refresh_tokens t SET revoked_at = now()
    FROM presented p
    WHERE %(strict)s AND p.used_at IS NOT NULL AND t.family_id = p.family_id AND t.revoked_at IS NULL
    RETURNING t.id
), issued AS (
    INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
    SELECT user_id, family_id, %(new_token_hash)s, now() + make_interval(days => %(days)s) FROM valid
    RETURNING id
), pruned AS (
    DELETE FROM refresh_tokens
    WHERE NOT %(strict)s
      AND id IN (SELECT t.id FROM refresh_tokens t JOIN valid v ON t.family_id = v.family_id
                 WHERE t.id <> v.id ORDER BY t.id DESC OFFSET 8)
)
SELECT CASE WHEN v.user_id IS NULL THEN 'invalid_token' ELSE 'refreshed' END AS outcome,
       v.user_id AS id, v.username, v.role, v.is_active, v.family_id::text AS family_id,
       (SELECT count(*) FROM issued) AS issued
FROM (VALUES (1)) one (x)
LEFT JOIN valid v ON true

-- name: revoke_refresh_family^
-- Logout: revokes the family of the presented refresh token, if it is the caller's; how many tokens.
WITH revoked AS (
    UPDATE refresh_tokens SET revoked_at = now()
    WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = %(token_hash)s AND user_id = %(user_id)s)
      AND revoked_at IS NULL
    RETURNING 1
)
SELECT count(*) AS revoked FROM revoked

-- name: revoke_user_refresh_tokens^
-- Revokes every live refresh token of a user, except those of family `keep_family` (may be NULL); how many.
WITH revoked AS (
    UPDATE refresh_tokens SET revoked_at = now()
    WHERE user_id = %(user_id)s AND revoked_at IS NULL
      AND family_id IS DISTINCT FROM %(keep_family)s::uuid
    RETURNING 1
)
SELECT count(*) AS revoked FROM revoked

-- name: password_hash_of^
-- The stored hash, to check a user's current password.
SELECT password_hash FROM users WHERE id = %(id)s AND is_active

-- name: change_password!
-- A new password; every refresh token outside the caller's own login family is revoked.
WITH changed AS (
    UPDATE users SET password_hash = %(password_hash)s, updated_at = now()
    WHERE id = %(id)s
    RETURNING id
)
UPDATE refresh_tokens SET revoked_at = now()
WHERE user_id IN (SELECT id FROM changed) AND revoked_at IS NULL
  AND family_id IS DISTINCT FROM %(keep_family)s::uuid
