DROP FUNCTION roll_up_consumption(interval);
DROP TABLE consumption_rollup;
DROP TABLE consumption_months;
DROP TABLE consumption_days;
DROP VIEW consumption_ledger;
DROP INDEX batches_expiry_idx;
DROP INDEX transactions_occurred_idx;
CREATE INDEX transactions_occurred_idx ON transactions (occurred_at, id);
