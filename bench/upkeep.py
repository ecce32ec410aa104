"""Between benchmark runs: the groups a run left DRAFT are deleted and the maintenance autovacuum is due
to start is done now, so every run starts from the same state."""

from __future__ import annotations

import time

import psycopg
import psycopg.sql


def tidy(conn: psycopg.Connection, since_group: int) -> dict:
    """After a run: groups made since `since_group` that are still DRAFT (unused pool groups and the
    groups a create run made) are deleted, so every run starts with the same PENDING DRAFT groups and
    the list's count stays the same. Approved groups stay, as history."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and conn.execute(BUSY).fetchone()[0]:
        time.sleep(0.05)  # requests still in flight after the load generator stopped
    deleted, deleted_lines = conn.execute(TIDY, {"g": since_group}).fetchone()
    approved = conn.execute(
        "SELECT count(*) FROM draft_groups WHERE id >= %(g)s AND status = 'APPROVED'", {"g": since_group}
    ).fetchone()[0]
    return {"deleted_groups": deleted, "deleted_lines": deleted_lines, "approved_groups": approved}


def maintain(conn: psycopg.Connection) -> list[str]:
    """Between runs: the vacuums and analyzes autovacuum is due to start (its default thresholds), done
    now, so that it does not start one inside the next measured run, on the same two cores. Returns what
    it did, e.g. ["VACUUM weigh_in_drafts", "ANALYZE transactions"]."""
    done = []
    for table, vacuum, analyze in conn.execute(MAINTENANCE_DUE).fetchall():
        command = ("VACUUM (ANALYZE) " if analyze else "VACUUM ") if vacuum else "ANALYZE "
        conn.execute(command + psycopg.sql.Identifier(table).as_string(conn))
        done.append(command.split(" ")[0] + (" ANALYZE" if vacuum and analyze else "") + " " + table)
    return done


# autovacuum's default thresholds (vacuum: 50 + 20%, inserts: 1000 + 20%, analyze: 50 + 10% of the rows)
MAINTENANCE_DUE = """
SELECT s.relname,
       s.n_dead_tup > 50 + 0.2 * c.reltuples OR s.n_ins_since_vacuum > 1000 + 0.2 * c.reltuples,
       s.n_mod_since_analyze > 50 + 0.1 * c.reltuples
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.n_dead_tup > 50 + 0.2 * c.reltuples OR s.n_ins_since_vacuum > 1000 + 0.2 * c.reltuples
   OR s.n_mod_since_analyze > 50 + 0.1 * c.reltuples
ORDER BY s.relname
"""


BUSY = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'
  AND backend_type = 'client backend'
"""
# One statement, one snapshot: a group and its lines go together (the FK is checked at its end).
TIDY = """
WITH groups AS (
    DELETE FROM draft_groups WHERE id >= %(g)s AND status = 'DRAFT' RETURNING id
), lines AS (
    DELETE FROM weigh_in_drafts WHERE draft_group_id IN (SELECT id FROM groups) RETURNING id
)
SELECT (SELECT count(*) FROM groups), (SELECT count(*) FROM lines)
"""
