-- The audit trail (SPEC §10): approval actions, transfers, counts and adjustments, read through the
-- audit_entries view (migration 0011). Nothing here writes.

-- name: list_audit
-- A page of audit entries, newest first, keyset (at, kind, entry_id); every filter is optional, `before`
-- is exclusive. No total: the trail grows with history, and a count would scan it.
SELECT e.at, e.kind, e.entry_id, e.action, e.actor_id, u.username AS actor_name, e.target_type, e.target_id,
       e.draft_group_id, e.location_id, e.article_id, e.batch_id, e.old_value, e.new_value, e.note
FROM audit_entries e
JOIN users u ON u.id = e.actor_id
WHERE (%(action)s::text IS NULL OR e.action = %(action)s::text)
  AND (%(actor_id)s::bigint IS NULL OR e.actor_id = %(actor_id)s::bigint)
  AND (%(draft_group_id)s::bigint IS NULL OR e.draft_group_id = %(draft_group_id)s::bigint)
  AND (%(from)s::timestamptz IS NULL OR e.at >= %(from)s::timestamptz)
  AND (%(before)s::timestamptz IS NULL OR e.at < %(before)s::timestamptz)
  AND (e.at, e.kind, e.entry_id) < (coalesce(%(after_at)s::timestamptz, 'infinity'), coalesce(%(after_kind)s::int, 0),
                                    coalesce(%(after_id)s::bigint, 0))
ORDER BY e.at DESC, e.kind DESC, e.entry_id DESC
LIMIT %(limit)s
