-- Articles and their aliases. article_no is unique case-insensitively (unique index on upper()); aliases
-- are stored upper-cased and trimmed, globally unique, at most five per article (one of five slots).
-- An article reads as `readable_articles` (migration 0010): with its aliases and `last_consumed_at`, the
-- newest WEIGH_IN of the article, read backwards from the partial index transactions_last_consumed_idx:
-- one index probe per article, never a scan of the ledger.

-- name: list_articles
-- A page of articles ordered by article_no (case-insensitively), filtered by active / is_paint and a
-- substring of article_no, description or an alias; each with its aliases and last_consumed_at.
SELECT a.*, upper(a.article_no) AS sort_key
FROM matching_articles(%(active)s::boolean, %(is_paint)s::boolean, %(like)s::text) a
WHERE %(after_key)s::text IS NULL OR upper(a.article_no) > %(after_key)s
ORDER BY upper(a.article_no)
LIMIT %(limit)s

-- name: count_articles^
-- How many articles match the list filters.
SELECT count(*) AS total
FROM matching_articles(%(active)s::boolean, %(is_paint)s::boolean, %(like)s::text)

-- name: article_detail^
-- One article, found by id or by article_no (case-insensitively), with its aliases and last_consumed_at.
SELECT a.*
FROM readable_articles a
WHERE CASE WHEN %(id)s::bigint IS NOT NULL THEN a.id = %(id)s
           ELSE upper(a.article_no) = upper(%(article_no)s::text) END

-- name: create_article^
-- A new active article; no row when the article_no is taken (case-insensitively).
INSERT INTO articles (article_no, description, article_group, uom, pack_size, pack_uom, barcode, manufacturer,
                      manufacturer_art_number, reorder_threshold, is_paint, is_active)
VALUES (%(article_no)s, %(description)s, %(article_group)s, %(uom)s, %(pack_size)s, %(pack_uom)s, %(barcode)s,
        %(manufacturer)s, %(manufacturer_art_number)s, %(reorder_threshold)s, %(is_paint)s, %(is_active)s)
ON CONFLICT ((upper(article_no))) DO NOTHING
RETURNING id

-- name: update_article^
-- Applies the fields present in `patch` (a JSON object; null clears an optional field) to one article.
-- article_no stays unique case-insensitively; is_paint changes only while the article has no batch
-- (a consumable's NA batch must never belong to a paint, nor a paint batch to a consumable).
-- outcome: not_found | article_no_taken | is_paint_locked | updated; `batches` counts the article's batches.
WITH patch AS (
    SELECT %(patch)s::jsonb AS p
), target AS (
    SELECT id, is_paint, (SELECT count(*) FROM batches b WHERE b.article_id = a.id) AS batches
    FROM articles a WHERE a.id = %(id)s
), verdict AS (
    SELECT CASE
               WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'not_found'
               WHEN p ? 'article_no' AND EXISTS (SELECT 1 FROM articles o
                                                 WHERE upper(o.article_no) = upper(p ->> 'article_no')
                                                   AND o.id <> %(id)s) THEN 'article_no_taken'
               WHEN p ? 'is_paint' AND (p ->> 'is_paint')::boolean <> (SELECT is_paint FROM target)
                    AND (SELECT batches FROM target) > 0 THEN 'is_paint_locked'
               ELSE 'updated'
           END AS outcome
    FROM patch
), updated AS (
    UPDATE articles a
    SET article_no = CASE WHEN p ? 'article_no' THEN p ->> 'article_no' ELSE a.article_no END,
        description = CASE WHEN p ? 'description' THEN p ->> 'description' ELSE a.description END,
        article_group = CASE WHEN p ? 'article_group' THEN p ->> 'article_group' ELSE a.article_group END,
        uom = CASE WHEN p ? 'uom' THEN p ->> 'uom' ELSE a.uom END,
        pack_size = CASE WHEN p ? 'pack_size' THEN (p ->> 'pack_size')::numeric ELSE a.pack_size END,
        pack_uom = CASE WHEN p ? 'pack_uom' THEN p ->> 'pack_uom' ELSE a.pack_uom END,
        barcode = CASE WHEN p ? 'barcode' THEN p ->> 'barcode' ELSE a.barcode END,
        manufacturer = CASE WHEN p ? 'manufacturer' THEN p ->> 'manufacturer' ELSE a.manufacturer END,
        manufacturer_art_number = CASE WHEN p ? 'manufacturer_art_number' THEN p ->> 'manufacturer_art_number'
                                       ELSE a.manufacturer_art_number END,
        reorder_threshold = CASE WHEN p ? 'reorder_threshold' THEN (p ->> 'reorder_threshold')::numeric
                                 ELSE a.reorder_threshold END,
        is_paint = CASE WHEN p ? 'is_paint' THEN (p ->> 'is_paint')::boolean ELSE a.is_paint END,
        is_active = CASE WHEN p ? 'is_active' THEN (p ->> 'is_active')::boolean ELSE a.is_active END,
        updated_at = now()
    FROM patch, verdict v
    WHERE a.id = %(id)s AND v.outcome = 'updated'
    RETURNING a.id
)
SELECT v.outcome, (SELECT batches FROM target) AS batches FROM verdict v

-- name: set_article_active^
-- Archives (false) or restores (true) one article; no row when it does not exist.
UPDATE articles SET is_active = %(is_active)s, updated_at = now()
WHERE id = %(id)s
RETURNING id

-- name: delete_article^
-- Deletes an article (and its aliases) only when nothing references it; otherwise counts what does.
-- A batch, balance, draft or ledger row always references a batch of the article, so batches = 0 is
-- the condition; the other counts tell the admin what is there.
WITH target AS (
    SELECT id FROM articles WHERE id = %(id)s
), uses AS (
    SELECT (SELECT count(*) FROM batches WHERE article_id = %(id)s) AS batches,
           (SELECT count(*) FROM stock WHERE article_id = %(id)s) + (SELECT count(*) FROM surplus WHERE article_id = %(id)s)
               AS balances,
           (SELECT count(*) FROM weigh_in_drafts WHERE article_id = %(id)s) AS drafts,
           (SELECT count(*) FROM transactions WHERE article_id = %(id)s) AS transactions
), deleted AS (
    DELETE FROM articles a
    USING target t, uses u
    WHERE a.id = t.id AND u.batches = 0
    RETURNING a.id
)
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'not_found'
            WHEN EXISTS (SELECT 1 FROM deleted) THEN 'deleted'
            ELSE 'article_in_use' END AS outcome,
       u.batches, u.balances, u.drafts, u.transactions
FROM uses u

-- name: resolve_article
-- The article a scanned or typed code names: by article_no, else by alias, else by barcode, all
-- case-insensitively. Only the best kind of match comes back (several rows only for a shared barcode).
WITH hits AS (
    SELECT a.id, 1 AS rank, 'article_no' AS matched_by FROM articles a WHERE upper(a.article_no) = upper(%(query)s)
    UNION ALL
    SELECT al.article_id, 2, 'alias' FROM article_aliases al WHERE al.alias = %(alias)s
    UNION ALL
    SELECT a.id, 3, 'barcode' FROM articles a WHERE upper(a.barcode) = upper(%(query)s)
), best AS (
    SELECT id, matched_by FROM hits WHERE rank = (SELECT min(rank) FROM hits)
)
SELECT a.*, b.matched_by
FROM best b
JOIN readable_articles a ON a.id = b.id
ORDER BY a.id
LIMIT 20

-- name: list_aliases
-- One article's aliases in the order they were added; `article_found` tells an empty list from no article.
SELECT a.id AS article_id, al.id, al.alias, al.slot, al.created_at
FROM articles a
LEFT JOIN article_aliases al ON al.article_id = a.id
WHERE a.id = %(article_id)s
ORDER BY al.id

-- name: add_alias^
-- Adds an alias (already upper-cased and trimmed) in the article's lowest free slot. Five slots cap the
-- aliases even under concurrent inserts: two inserts taking one slot collide on UNIQUE (article_id, slot)
-- and the loser is re-run. outcome: not_found | alias_taken | alias_limit | added.
WITH target AS (
    SELECT id FROM articles WHERE id = %(article_id)s
), holder AS (
    SELECT al.article_id, a.article_no FROM article_aliases al JOIN articles a ON a.id = al.article_id
    WHERE al.alias = %(alias)s
), free AS (
    SELECT min(s) AS slot FROM generate_series(1, 5) s
    WHERE s NOT IN (SELECT slot FROM article_aliases WHERE article_id = %(article_id)s)
), verdict AS (
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'not_found'
                WHEN EXISTS (SELECT 1 FROM holder) THEN 'alias_taken'
                WHEN (SELECT slot FROM free) IS NULL THEN 'alias_limit'
                ELSE 'added' END AS outcome
), added AS (
    INSERT INTO article_aliases (article_id, slot, alias)
    SELECT t.id, f.slot, %(alias)s
    FROM target t, free f, verdict v
    WHERE v.outcome = 'added'
    RETURNING id, article_id, alias, slot, created_at
)
SELECT v.outcome, h.article_id AS holder_article_id, h.article_no AS holder_article_no,
       ad.id, ad.article_id, ad.alias, ad.slot, ad.created_at
FROM verdict v
LEFT JOIN holder h ON true
LEFT JOIN added ad ON true

-- name: delete_alias^
-- Deletes an alias of the given article; no row when the article has no such alias.
DELETE FROM article_aliases
WHERE id = %(alias_id)s AND article_id = %(article_id)s
RETURNING id
