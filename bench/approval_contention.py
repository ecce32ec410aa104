"""Approve-recent vs scattered under SERIALIZABLE, measured on the approval statement alone.

Seeds a throwaway cluster (3,000 + 3,000 five-line DRAFT groups over 2,000 batches), then 8 threads
approve 3,000 groups in scattered order and 3,000 in creation order through `Database.serializable`,
and prints approvals/s and serialization retries, on the schema as migrated.
Usage: .venv/bin/python bench/approval_contention.py [MAX_PRED_LOCKS_PER_PAGE]
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from service import migrations
from service.db import Database
from service.embedded import TEST_SETTINGS, LocalCluster, free_port

GROUPS = 3000
SEED = """
INSERT INTO users (username, password_hash, role) VALUES ('a', 'x', 'ADMIN');
INSERT INTO locations (code, name) VALUES ('13', 'm');
INSERT INTO articles (article_no) SELECT 'A' || n FROM generate_series(1, 2000) n;
INSERT INTO batches (article_id, batch_code) SELECT id, '1' || lpad(id::text, 4, '0') FROM articles;
INSERT INTO stock (location_id, batch_id, article_id, quantity_kg)
    SELECT 1, id, article_id, 100000 FROM batches;
INSERT INTO draft_groups (name, source, location_id, created_by_user_id)
    SELECT 'g' || n, 'scale', 1, 1 FROM generate_series(1, {groups}) n;
INSERT INTO weigh_in_drafts (draft_group_id, location_id, article_id, batch_id, quantity_kg, source,
                             client_event_id, created_by_user_id)
    SELECT g.id, 1, b.article_id, b.id, 1, 'scale', 'e' || g.id || '-' || k, 1
    FROM draft_groups g CROSS JOIN generate_series(1, 5) k
    JOIN batches b ON b.id = 1 + (g.id * 7 + k * 13) % 2000
    ORDER BY g.id, k
"""


def main() -> None:
    per_page = sys.argv[1] if len(sys.argv) > 1 else "32"
    root = Path(tempfile.mkdtemp(prefix="contention-"))
    root.chmod(0o755)
    cluster = LocalCluster(
        root / "data", free_port(), settings={**TEST_SETTINGS, "max_pred_locks_per_page": per_page}
    )
    cluster.start()
    try:
        cluster.create_database("x")
        url = cluster.url("x")
        migrations.migrate(url)
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in SEED.format(groups=2 * GROUPS).split(";"):
                conn.execute(statement)
            conn.execute("VACUUM FULL")
            conn.execute("VACUUM ANALYZE")
        db = Database(url, pool_size=8)
        db.open(wait=True)
        scattered = list(range(1, GROUPS + 1))
        random.Random(1).shuffle(scattered)
        for label, order in (("scattered", scattered), ("recent", list(range(GROUPS + 1, 2 * GROUPS + 1)))):
            queue, lock = list(order), threading.Lock()
            retries_before = db.retries

            def worker(queue=queue, lock=lock):
                while True:
                    with lock:
                        if not queue:
                            return
                        group = queue.pop(0)
                    db.write(
                        "approve_group", {"group_id": group, "draft_id": None, "actor_id": 1, "note": None}
                    )

            started = time.perf_counter()
            threads = [threading.Thread(target=worker) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            rate = len(order) / (time.perf_counter() - started)
            print(
                f"max_pred_locks_per_page={per_page} {label}: {rate:.0f} approvals/s, "
                f"{db.retries - retries_before} retries",
                flush=True,
            )
        db.close()
    finally:
        cluster.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
