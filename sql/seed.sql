-- name: seed_location^
-- The default location exists (created once). On a fresh database (no location at all) it gets id 13,
-- which the older desktop client sends as location_id, and the identity moves past it; a database that
-- has locations keeps them as they are.
WITH created AS (
    INSERT INTO locations (id, code, name) OVERRIDING SYSTEM VALUE
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM locations) THEN 13
                ELSE nextval(pg_get_serial_sequence('locations', 'id')) END,
           %(code)s, %(name)s
    WHERE NOT EXISTS (SELECT 1 FROM locations WHERE code = %(code)s)
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT setval(pg_get_serial_sequence('locations', 'id'), 13) AS moved FROM created WHERE id = 13

-- name: seed_demo!
-- Demo master data and balances, each balance booked through the ledger so reconcile stays empty.
-- Does nothing once the demo articles exist.
WITH loc AS (
    SELECT id FROM locations WHERE code = %(location_code)s
), actor AS (
    SELECT id FROM users WHERE role = 'ADMIN' ORDER BY id LIMIT 1
), new_articles AS (
    INSERT INTO articles (article_no, description, article_group, uom, is_paint, barcode, manufacturer)
    VALUES ('P-1001', 'Topcoat RAL 9010 pure white', 'Topcoat', 'KG', true, '4006000100101', 'Sikkens'),
           ('P-1002', 'Primer grey 2K', 'Primer', 'KG', true, '4006000100202', 'Glasurit'),
           ('P-1003', 'Clear coat HS', 'Clear', 'L', true, '4006000100303', 'Standox'),
           ('C-2001', 'Sanding disc P320', 'Abrasives', 'KG', false, '4006000200105', '3M'),
           ('C-2002', 'Masking tape 38mm', 'Tape', 'KG', false, '4006000200206', 'Tesa')
    ON CONFLICT DO NOTHING
    RETURNING id, article_no, is_paint
), new_batches AS (
    INSERT INTO batches (article_id, batch_code, received_date, expiry_date)
    SELECT a.id, b.code, current_date, b.expiry
    FROM new_articles a
    JOIN (VALUES ('P-1001', '12345', current_date + 365), ('P-1001', '12346', current_date + 200),
                 ('P-1002', '987654321', current_date + 300), ('P-1003', '55501', current_date + 500),
                 ('C-2001', 'NA', DATE '2099-12-31'), ('C-2002', 'NA', DATE '2099-12-31'))
         AS b (article_no, code, expiry) ON b.article_no = a.article_no
    RETURNING id, article_id
), balances AS (
    SELECT b.id AS batch_id, b.article_id, loc.id AS location_id,
           (40 + 10 * row_number() OVER (ORDER BY b.id))::numeric(14,2) AS stock_kg,
           (row_number() OVER (ORDER BY b.id) %% 3 * 2.5)::numeric(14,2) AS surplus_kg
    FROM new_batches b CROSS JOIN loc
), stock_rows AS (
    INSERT INTO stock (location_id, batch_id, article_id, quantity_kg)
    SELECT location_id, batch_id, article_id, stock_kg FROM balances
), surplus_rows AS (
    INSERT INTO surplus (location_id, batch_id, article_id, quantity_kg)
    SELECT location_id, batch_id, article_id, surplus_kg FROM balances WHERE surplus_kg > 0
), ledger AS (
    INSERT INTO transactions (tx_type, bucket, quantity_kg, location_id, article_id, batch_id, user_id,
                              source, order_number, meta)
    SELECT 'STOCK_RECEIPT', 'STOCK', stock_kg, location_id, article_id, batch_id, (SELECT id FROM actor),
           'seed', 'DEMO-0001', '{"seed": true}'::jsonb
    FROM balances
    UNION ALL
    SELECT 'INVENTORY_ADJUSTMENT', 'SURPLUS', surplus_kg, location_id, article_id, batch_id,
           (SELECT id FROM actor), 'seed', NULL, '{"seed": true}'::jsonb
    FROM balances WHERE surplus_kg > 0
)
SELECT count(*) AS articles FROM new_articles
