DROP TABLE inventory_counts;
DROP INDEX transactions_location_idx;
DROP INDEX transactions_receipt_idx;
ALTER TABLE transactions DROP COLUMN receipt_id;
DROP TABLE receipts;
