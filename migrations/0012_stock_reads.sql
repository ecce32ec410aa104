-- The stock reads of SPEC §10: low stock, expiring batches, consumption per period and stock as of a
-- moment. The ledger's occurred_at index carries the columns those reads need (index-only scans, and no
-- extra index for the approval to keep up); consumption_days rolls the consumption of closed UTC days up.
-- depends: 0011_transfers

-- Widened in place of (occurred_at, id): the ledger list's range filter is served as before, and the
-- consumption report's live part and the inventory as of a moment read the index alone.
DROP INDEX transactions_occurred_idx;
CREATE INDEX transactions_occurred_idx ON transactions (occurred_at, id)
    INCLUDE (tx_type, bucket, quantity_kg, location_id, article_id, batch_id);

-- Batches that can expire (the system NA batch never does), earliest first.
CREATE INDEX batches_expiry_idx ON batches (expiry_date) WHERE batch_code <> 'NA' AND expiry_date IS NOT NULL;

-- What approved weigh-ins consumed, one row per ledger row of an approval: from surplus and from stock
-- (positive kg), and 1 for the informational WEIGH_IN row (one per approved weigh-in line). Shortage lines
-- (INVENTORY_ADJUSTMENT) are corrections, not consumption.
CREATE VIEW consumption_ledger AS
SELECT t.occurred_at, t.location_id, t.article_id,
       CASE WHEN t.tx_type = 'SURPLUS_CONSUMED' THEN -t.quantity_kg ELSE 0 END AS from_surplus_kg,
       CASE WHEN t.tx_type = 'STOCK_CONSUMED' THEN -t.quantity_kg ELSE 0 END AS from_stock_kg,
       CASE WHEN t.tx_type = 'WEIGH_IN' THEN 1 ELSE 0 END AS weighins
FROM transactions t
WHERE t.tx_type IN ('WEIGH_IN', 'SURPLUS_CONSUMED', 'STOCK_CONSUMED');

-- Consumption per closed UTC day, location and article, and per day and article over all locations
-- (location_id 0: a report without a location filter reads a third of the rows). Derived data, so no
-- foreign keys (the ledger rows it sums keep their article and location alive). Days before
-- consumption_rollup.closed_before are here completely; later ones are read from the ledger.
CREATE TABLE consumption_days (
    location_id     bigint NOT NULL,  -- 0: all locations
    day             date NOT NULL,
    article_id      bigint NOT NULL,
    from_surplus_kg numeric(16,2) NOT NULL,
    from_stock_kg   numeric(16,2) NOT NULL,
    weighins        integer NOT NULL,
    PRIMARY KEY (location_id, day, article_id)
);
CREATE INDEX consumption_days_article_idx ON consumption_days (article_id, location_id, day);

-- The same per closed calendar month (a month's report grouped by month reads one row per article).
CREATE TABLE consumption_months (
    location_id     bigint NOT NULL,  -- 0: all locations
    month           date NOT NULL CHECK (extract(day FROM month) = 1),
    article_id      bigint NOT NULL,
    from_surplus_kg numeric(16,2) NOT NULL,
    from_stock_kg   numeric(16,2) NOT NULL,
    weighins        integer NOT NULL,
    PRIMARY KEY (location_id, month, article_id)
);

-- The watermark: one row.
CREATE TABLE consumption_rollup (
    one           boolean PRIMARY KEY DEFAULT true CHECK (one),
    closed_before date NOT NULL,
    rolled_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO consumption_rollup (closed_before) VALUES ('-infinity');

-- Rolls every UTC day that ended more than `margin` ago (longer than any transaction may run, so no
-- ledger row of that day can still commit; occurred_at is the writing transaction's now()) into
-- consumption_days, from the watermark on, then every month those days complete into
-- consumption_months, and moves the watermark; returns it and how many day rows it added. The
-- watermark row's lock makes concurrent callers take turns; a later one finds nothing to add.
CREATE FUNCTION roll_up_consumption(margin interval)
RETURNS TABLE (watermark date, added_rows bigint)
LANGUAGE plpgsql AS $$
DECLARE
    old date;
    new date := ((now() - margin) AT TIME ZONE 'UTC')::date;
    added bigint;
BEGIN
    SELECT w.closed_before INTO old FROM consumption_rollup w FOR UPDATE;
    IF new <= old THEN
        RETURN QUERY SELECT old, 0::bigint;
        RETURN;
    END IF;
    INSERT INTO consumption_days (location_id, day, article_id, from_surplus_kg, from_stock_kg, weighins)
    SELECT coalesce(c.location_id, 0), (c.occurred_at AT TIME ZONE 'UTC')::date, c.article_id,
           sum(c.from_surplus_kg), sum(c.from_stock_kg), sum(c.weighins)
    FROM consumption_ledger c
    WHERE c.occurred_at >= old::timestamp AT TIME ZONE 'UTC' AND c.occurred_at < new::timestamp AT TIME ZONE 'UTC'
    GROUP BY GROUPING SETS ((c.location_id, 2, c.article_id), (2, c.article_id));
    GET DIAGNOSTICS added = ROW_COUNT;
    -- the months that end after the old watermark and by the new one: all their days are in now
    INSERT INTO consumption_months (location_id, month, article_id, from_surplus_kg, from_stock_kg, weighins)
    SELECT d.location_id, date_trunc('month', d.day)::date, d.article_id, sum(d.from_surplus_kg),
           sum(d.from_stock_kg), sum(d.weighins)
    FROM consumption_days d
    WHERE d.day >= date_trunc('month', old)::date AND d.day < date_trunc('month', new)::date
    GROUP BY 1, 2, 3;
    UPDATE consumption_rollup SET closed_before = new, rolled_at = now();
    RETURN QUERY SELECT new, added;
END
$$;

DO $$ BEGIN PERFORM roll_up_consumption(interval '1 hour'); END $$;
