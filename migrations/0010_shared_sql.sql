-- SQL said once: the views and functions the statements in sql/ share, for a DBA to review here once,
-- and the triggers that keep pending_groups in step with draft_groups and weigh_in_drafts (until now six
-- statements in three files kept it).
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

-- A DRAFT group as the DRAFT list shows it, read from pending_groups alone. The creator's name comes by
-- a LEFT JOIN on the users key, which the planner drops where the name is not read (a count).
CREATE VIEW pending_group_summaries AS
SELECT p.group_id AS id, p.name, 'DRAFT'::text AS status, p.source, p.location_id, p.created_by_user_id,
       u.username AS created_by_name, p.created_at, NULL::bigint AS decided_by_user_id,
       NULL::timestamptz AS decided_at, p.line_count, p.total_quantity_kg
FROM pending_groups p
LEFT JOIN users u ON u.id = p.created_by_user_id;

-- The approval's allocation (SPEC §5), per readable line of a group: per (location, batch) key,
-- INVENTORY_SHORTAGE lines are served first, from stock only, in draft-id order; then WEIGH_IN lines in
-- draft-id order, each taking surplus first, then the stock that is left. Each line comes with its key's
-- balances (stock, surplus), what it takes (from_surplus, from_stock) and what it lacks (shortage).
-- approve_group books it; a SQL function, so the planner inlines it there, indexes and all.
CREATE FUNCTION group_allocation(group_id bigint)
RETURNS TABLE (id bigint, draft_group_id bigint, location_id bigint, article_id bigint, batch_id bigint,
               quantity_kg numeric, status text, draft_type text, source text, client_event_id text, note text,
               created_by_user_id bigint, created_at timestamptz, article_no text, description text,
               batch_code text, expiry_date date, uom text, consumed_surplus_kg numeric,
               consumed_stock_kg numeric, stock numeric, surplus numeric, from_surplus numeric,
               from_stock numeric, shortage numeric)
LANGUAGE sql STABLE AS $$
    SELECT t.id, t.draft_group_id, t.location_id, t.article_id, t.batch_id, t.quantity_kg, t.status, t.draft_type,
           t.source, t.client_event_id, t.note, t.created_by_user_id, t.created_at,
           t.article_no, t.description, t.batch_code, t.expiry_date, t.uom,
           t.consumed_surplus_kg, t.consumed_stock_kg,
           t.stock, t.surplus, t.from_surplus, t.from_stock, t.quantity_kg - t.from_surplus - t.from_stock
    FROM (
        SELECT l.*,
               CASE WHEN l.draft_type = 'INVENTORY_SHORTAGE' THEN 0
                    ELSE least(l.quantity_kg, greatest(0, l.surplus - l.before_q)) END AS from_surplus,
               CASE WHEN l.draft_type = 'INVENTORY_SHORTAGE' THEN least(l.quantity_kg, greatest(0, l.stock - l.before_q))
                    -- stock left after the shortage lines, less what earlier weigh-ins took from stock
                    ELSE least(l.quantity_kg - least(l.quantity_kg, greatest(0, l.surplus - l.before_q)),
                               greatest(0, greatest(0, l.stock - l.shortage_demand)
                                           - greatest(0, l.before_q - l.surplus)))
               END AS from_stock
        FROM (
            -- each line with its key's balances, what earlier lines of the same kind on the same key asked
            -- for (before_q), and what the key's INVENTORY_SHORTAGE lines ask for (shortage_demand)
            SELECT d.*, coalesce(st.quantity_kg, 0) AS stock, coalesce(sp.quantity_kg, 0) AS surplus,
                   sum(d.quantity_kg) OVER (PARTITION BY d.location_id, d.batch_id, d.draft_type ORDER BY d.id)
                       - d.quantity_kg AS before_q,
                   coalesce(sum(d.quantity_kg) FILTER (WHERE d.draft_type = 'INVENTORY_SHORTAGE')
                                OVER (PARTITION BY d.location_id, d.batch_id), 0) AS shortage_demand
            FROM readable_drafts d
            LEFT JOIN stock st ON st.location_id = d.location_id AND st.batch_id = d.batch_id
            LEFT JOIN surplus sp ON sp.location_id = d.location_id AND sp.batch_id = d.batch_id
            WHERE d.draft_group_id = $1
        ) l
    ) t
$$;

-- The filters of GET /api/draft-groups besides status, for draft_groups and pending_groups rows alike:
-- each NULL filter matches every group. A plain expression: the planner inlines it where it is used.
CREATE FUNCTION group_filters_match(source text, location_id bigint, created_by_user_id bigint,
                                    wanted_source text, wanted_location_id bigint, wanted_created_by bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT ($4 IS NULL OR $1 = $4) AND ($5 IS NULL OR $2 = $5) AND ($6 IS NULL OR $3 = $6)
$$;

-- A ledger row as the API and the reports show it, with readable names.
CREATE VIEW ledger_rows AS
SELECT t.id, t.occurred_at, t.tx_type, t.bucket, t.quantity_kg, t.location_id, l.code AS location_code,
       t.article_id, a.article_no, a.description, t.batch_id, b.batch_code, t.user_id, u.username AS user_name,
       t.source, t.client_event_id, t.order_number, t.draft_id, t.draft_group_id, r.receipt_key,
       t.meta ->> 'note' AS note
FROM transactions t
JOIN locations l ON l.id = t.location_id
JOIN articles a ON a.id = t.article_id
JOIN batches b ON b.id = t.batch_id
LEFT JOIN users u ON u.id = t.user_id
LEFT JOIN receipts r ON r.id = t.receipt_id;

-- The ledger rows matching the filters of GET /api/transactions (each NULL filter matches all; `before`
-- is exclusive). A single SQL query: the planner inlines it into the calling statement, indexes and all.
CREATE FUNCTION matching_ledger_rows(tx_type text, bucket text, location_id bigint, article_id bigint,
                                     batch_id bigint, order_number text, from_at timestamptz,
                                     before_at timestamptz)
RETURNS SETOF ledger_rows
LANGUAGE sql STABLE AS $$
    SELECT * FROM ledger_rows t
    WHERE ($1 IS NULL OR t.tx_type = $1)
      AND ($2 IS NULL OR t.bucket = $2)
      AND ($3 IS NULL OR t.location_id = $3)
      AND ($4 IS NULL OR t.article_id = $4)
      AND ($5 IS NULL OR t.batch_id = $5)
      AND ($6 IS NULL OR t.order_number = $6)
      AND ($7 IS NULL OR t.occurred_at >= $7)
      AND ($8 IS NULL OR t.occurred_at < $8)
$$;

-- An article as the API shows it: its aliases and when it was last consumed (the newest WEIGH_IN, one
-- probe of the partial index transactions_last_consumed_idx). The subqueries run only for the rows read.
CREATE VIEW readable_articles AS
SELECT a.id, a.article_no, a.description, a.article_group, a.uom, a.pack_size, a.pack_uom, a.barcode,
       a.manufacturer, a.manufacturer_art_number, a.reorder_threshold, a.is_paint, a.is_active,
       a.created_at, a.updated_at,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', al.id, 'alias', al.alias) ORDER BY al.id)
                 FROM article_aliases al WHERE al.article_id = a.id), '[]') AS aliases,
       (SELECT max(t.occurred_at) FROM transactions t
        WHERE t.article_id = a.id AND t.tx_type = 'WEIGH_IN') AS last_consumed_at
FROM articles a;

-- The articles matching the filters of GET /api/articles (each NULL filter matches all): active,
-- is_paint, and a substring (`like`, an ILIKE pattern) of article_no, description or an alias. A single
-- SQL query: inlined into the calling statement; a count of it does not read the aliases and ledger.
CREATE FUNCTION matching_articles(active boolean, is_paint boolean, like_pattern text)
RETURNS SETOF readable_articles
LANGUAGE sql STABLE AS $$
    SELECT * FROM readable_articles a
    WHERE ($1 IS NULL OR a.is_active = $1)
      AND ($2 IS NULL OR a.is_paint = $2)
      AND ($3 IS NULL
           OR a.article_no ILIKE $3 OR a.description ILIKE $3
           OR EXISTS (SELECT 1 FROM article_aliases al WHERE al.article_id = a.id AND al.alias ILIKE $3))
$$;

-- The location a request names, or the default location when it names none; NULL when there is no such
-- location. (PL/pgSQL keeps the plan for the session; a SQL function would be planned on every call.)
CREATE FUNCTION default_location_id(location_id bigint, default_code text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF location_id IS NULL THEN
        RETURN (SELECT l.id FROM locations l WHERE l.code = default_code);
    END IF;
    RETURN (SELECT l.id FROM locations l WHERE l.id = location_id);
END
$$;

-- The next generated group name of a prefix, e.g. AdminDraft_001-2026-12-05: the prefix's counter for
-- the UTC day is bumped under its row lock, so concurrent creates never get the same name.
CREATE FUNCTION next_group_name(prefix text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer;
    today date;
BEGIN
    INSERT INTO draft_group_name_counters AS c (prefix, day, last_no)
    VALUES (next_group_name.prefix, (now() AT TIME ZONE 'UTC')::date, 1)
    ON CONFLICT ON CONSTRAINT draft_group_name_counters_pkey DO UPDATE SET last_no = c.last_no + 1
    RETURNING c.last_no, c.day INTO n, today;
    RETURN prefix || '_' || lpad(n::text, greatest(3, length(n::text)), '0') || '-' || to_char(today, 'YYYY-MM-DD');
END
$$;

-- One (location, batch) key as an inventory count or adjustment names it: the location (the default one
-- when none is named), the article and batch with whether they are active, the key's stock and surplus
-- (0 where there is no row), and the first problem with what was named (NULL when none). One row.
CREATE FUNCTION inventory_key(wanted_location_id bigint, default_code text, wanted_article_id bigint,
                              wanted_batch_id bigint)
RETURNS TABLE (location_id bigint, article_id bigint, batch_id bigint, article_active boolean,
               batch_active boolean, stock numeric, surplus numeric, problem text)
LANGUAGE sql STABLE AS $$
    SELECT k.id, a.id, b.id, a.is_active, b.is_active,
           coalesce(st.quantity_kg, 0)::numeric(14,2), coalesce(sp.quantity_kg, 0)::numeric(14,2),
           CASE WHEN k.id IS NULL THEN 'location_not_found'
                WHEN a.id IS NULL THEN 'article_not_found'
                WHEN b.id IS NULL THEN 'batch_not_found'
                WHEN b.article_id <> a.id THEN 'batch_article_mismatch'
           END
    FROM (SELECT default_location_id($1, $2) AS id) k
    LEFT JOIN articles a ON a.id = $3
    LEFT JOIN batches b ON b.id = $4
    LEFT JOIN stock st ON st.location_id = k.id AND st.batch_id = $4
    LEFT JOIN surplus sp ON sp.location_id = k.id AND sp.batch_id = $4
$$;

-- Every balance, one row per (location, batch) key and bucket (STOCK: table stock, SURPLUS: surplus).
-- Inserting a row sets that balance (an upsert into its table); nothing else writes through it.
CREATE VIEW balances AS
SELECT location_id, batch_id, article_id, 'STOCK'::text AS bucket, quantity_kg FROM stock
UNION ALL
SELECT location_id, batch_id, article_id, 'SURPLUS'::text, quantity_kg FROM surplus;

CREATE FUNCTION balances_set() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.bucket = 'STOCK' THEN
        INSERT INTO stock (location_id, batch_id, article_id, quantity_kg)
        VALUES (NEW.location_id, NEW.batch_id, NEW.article_id, NEW.quantity_kg)
        ON CONFLICT (location_id, batch_id) DO UPDATE SET quantity_kg = excluded.quantity_kg, updated_at = now();
    ELSIF NEW.bucket = 'SURPLUS' THEN
        INSERT INTO surplus (location_id, batch_id, article_id, quantity_kg)
        VALUES (NEW.location_id, NEW.batch_id, NEW.article_id, NEW.quantity_kg)
        ON CONFLICT (location_id, batch_id) DO UPDATE SET quantity_kg = excluded.quantity_kg, updated_at = now();
    ELSE
        RAISE EXCEPTION 'no balance bucket %', NEW.bucket USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER balances_set INSTEAD OF INSERT ON balances FOR EACH ROW EXECUTE FUNCTION balances_set();

-- What pending_groups must hold: every DRAFT group, with its line count and total.
CREATE VIEW pending_groups_expected AS
SELECT g.id AS group_id, g.name, g.source, g.location_id, g.created_by_user_id, g.created_at,
       s.line_count, s.total_quantity_kg
FROM draft_groups g
CROSS JOIN LATERAL (
    SELECT count(*)::integer AS line_count, coalesce(sum(d.quantity_kg), 0)::numeric(14,2) AS total_quantity_kg
    FROM weigh_in_drafts d WHERE d.draft_group_id = g.id
) s
WHERE g.status = 'DRAFT';

-- pending_groups follows the groups and their lines: a DRAFT group is listed from the statement that
-- adds its lines; its line count and total follow every insert, quantity change, move and delete of a
-- line; its header follows the group's; it leaves the list when the group is decided (or deleted: the
-- foreign key cascades). Inserts and deletes of lines are handled once per statement (a create adds up
-- to 500 lines), changes of one row per row, and only when a listed column changes, so an approval
-- (which changes status and the consumed quantities) runs one trigger, for its group.

CREATE FUNCTION pending_groups_lines_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pending_groups AS p (group_id, name, source, location_id, created_by_user_id, created_at, line_count,
                                     total_quantity_kg)
    SELECT g.id, g.name, g.source, g.location_id, g.created_by_user_id, g.created_at, n.line_count, n.total
    FROM (SELECT draft_group_id, count(*) AS line_count, sum(quantity_kg) AS total
          FROM added GROUP BY draft_group_id) n
    JOIN draft_groups g ON g.id = n.draft_group_id
    WHERE g.status = 'DRAFT'
    ON CONFLICT (group_id) DO UPDATE
    SET line_count = p.line_count + excluded.line_count,
        total_quantity_kg = p.total_quantity_kg + excluded.total_quantity_kg;
    RETURN NULL;
END
$$;

CREATE FUNCTION pending_groups_lines_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE pending_groups p
    SET line_count = p.line_count - r.line_count, total_quantity_kg = p.total_quantity_kg - r.total
    FROM (SELECT draft_group_id, count(*) AS line_count, sum(quantity_kg) AS total
          FROM removed GROUP BY draft_group_id) r
    WHERE p.group_id = r.draft_group_id;
    RETURN NULL;
END
$$;

CREATE FUNCTION pending_groups_line_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.draft_group_id = OLD.draft_group_id THEN
        UPDATE pending_groups SET total_quantity_kg = total_quantity_kg + NEW.quantity_kg - OLD.quantity_kg
        WHERE group_id = NEW.draft_group_id;
    ELSE
        UPDATE pending_groups SET line_count = line_count - 1, total_quantity_kg = total_quantity_kg - OLD.quantity_kg
        WHERE group_id = OLD.draft_group_id;
        UPDATE pending_groups SET line_count = line_count + 1, total_quantity_kg = total_quantity_kg + NEW.quantity_kg
        WHERE group_id = NEW.draft_group_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION pending_groups_group_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> 'DRAFT' THEN
        DELETE FROM pending_groups WHERE group_id = OLD.id;
    ELSIF OLD.status <> 'DRAFT' THEN  -- back to DRAFT: listed again, as it is
        INSERT INTO pending_groups SELECT * FROM pending_groups_expected e WHERE e.group_id = NEW.id;
    ELSE
        UPDATE pending_groups
        SET name = NEW.name, source = NEW.source, location_id = NEW.location_id,
            created_by_user_id = NEW.created_by_user_id, created_at = NEW.created_at
        WHERE group_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER pending_groups_lines_added
    AFTER INSERT ON weigh_in_drafts REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION pending_groups_lines_added();
CREATE TRIGGER pending_groups_lines_removed
    AFTER DELETE ON weigh_in_drafts REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION pending_groups_lines_removed();
CREATE TRIGGER pending_groups_line_changed
    AFTER UPDATE OF quantity_kg, draft_group_id ON weigh_in_drafts
    FOR EACH ROW WHEN (OLD.quantity_kg <> NEW.quantity_kg OR OLD.draft_group_id <> NEW.draft_group_id)
    EXECUTE FUNCTION pending_groups_line_changed();
CREATE TRIGGER pending_groups_group_changed
    AFTER UPDATE OF status, name, source, location_id, created_by_user_id, created_at ON draft_groups
    FOR EACH ROW WHEN (OLD.status = 'DRAFT' OR NEW.status = 'DRAFT')
    EXECUTE FUNCTION pending_groups_group_changed();

-- From here on the triggers keep it; start from what it must hold.
DELETE FROM pending_groups p
WHERE NOT EXISTS (SELECT 1 FROM pending_groups_expected e WHERE e.group_id = p.group_id);
INSERT INTO pending_groups AS p
SELECT * FROM pending_groups_expected
ON CONFLICT (group_id) DO UPDATE
SET name = excluded.name, source = excluded.source, location_id = excluded.location_id,
    created_by_user_id = excluded.created_by_user_id, created_at = excluded.created_at,
    line_count = excluded.line_count, total_quantity_kg = excluded.total_quantity_kg
WHERE (p.*) IS DISTINCT FROM (excluded.*);
