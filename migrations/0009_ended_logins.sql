-- The auth middleware reads, with each user's role (at most every 4 s per worker), the logins that
-- ended within an access token's lifetime: refresh tokens revoked recently, by user. This index keeps
-- that read off the rest of the table, which grows with every refresh.
-- depends: 0008_username_fold

CREATE INDEX refresh_tokens_user_revoked_idx ON refresh_tokens (user_id, revoked_at) WHERE revoked_at IS NOT NULL;
