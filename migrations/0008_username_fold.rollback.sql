-- Back to the case-insensitive unique index on lower(username).

DROP TRIGGER users_fill_username_key ON users;
DROP INDEX users_username_key_key;
ALTER TABLE users DROP COLUMN username_key;
DROP FUNCTION users_fill_username_key();
DROP FUNCTION username_fold(text);
CREATE UNIQUE INDEX users_username_ci_key ON users (lower(username));
