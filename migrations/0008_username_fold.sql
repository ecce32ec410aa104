-- Usernames are compared by a folded key: NFKC, full case folding, NFKC again, computed by the service
-- (service/usernames.py) and stored, so the unique index and the login look-up use one definition
-- (lower() is not case folding: 'Strauß' and 'STRAUSS'). Rows the service did not write (existing
-- ones, and rows inserted by hand without a key) get username_fold(), PostgreSQL's nearest
-- equivalent: lower() of the NFKC form, plus the folds where lower() and case folding differ for living
-- scripts. If two existing users look alike after folding, the migration stops and names them: which
-- of the two is the real account is for an admin to decide, not for a migration.
-- depends: 0007_draft_list_summary

-- İ (U+0130) folds to i + combining dot (U+0307), ß (also lower() of ẞ) to ss, final ς to σ
CREATE FUNCTION username_fold(name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN normalize(
    replace(replace(lower(replace(normalize(name, NFKC), U&'\0130', U&'i\0307')), U&'\00DF', 'ss'),
            U&'\03C2', U&'\03C3'),
    NFKC);

CREATE FUNCTION users_fill_username_key() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.username_key := coalesce(NEW.username_key, username_fold(NEW.username));
    RETURN NEW;
END
$$;

ALTER TABLE users ADD COLUMN username_key text;
UPDATE users SET username_key = username_fold(username);

DO $$
DECLARE
    clashes text;
BEGIN
    SELECT string_agg(names, '; ') INTO clashes
    FROM (SELECT string_agg(quote_literal(username), ' and ' ORDER BY id) AS names
          FROM users GROUP BY username_key HAVING count(*) > 1) alike;
    IF clashes IS NOT NULL THEN
        RAISE EXCEPTION 'these usernames look alike after NFKC and case folding: %', clashes
            USING HINT = 'Rename or delete all but one of each, then migrate again.';
    END IF;
END
$$;

ALTER TABLE users
    ALTER COLUMN username_key SET NOT NULL,
    ADD CONSTRAINT users_username_key_not_empty CHECK (username_key <> '');
DROP INDEX users_username_ci_key;
CREATE UNIQUE INDEX users_username_key_key ON users (username_key);
CREATE TRIGGER users_fill_username_key BEFORE INSERT ON users
FOR EACH ROW WHEN (NEW.username_key IS NULL) EXECUTE FUNCTION users_fill_username_key();
