-- Draft groups: one header, many lines. Every existing draft becomes its own one-line group.
-- depends: 0001_baseline

CREATE TABLE draft_groups (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status             text NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'APPROVED', 'REJECTED')),
    source             text NOT NULL
                       CHECK (source IN ('ui_admin', 'ui_operator', 'manual', 'scale', 'import', 'inventory_count')),
    location_id        bigint NOT NULL REFERENCES locations (id),
    created_by_user_id bigint NOT NULL REFERENCES users (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    decided_by_user_id bigint REFERENCES users (id),
    decided_at         timestamptz,
    decision_note      text CHECK (length(decision_note) <= 1000),
    CHECK ((status = 'DRAFT') = (decided_at IS NULL)),
    -- target of the lines' composite FK: a line shares its group's location and status
    UNIQUE (id, location_id, status)
);
CREATE INDEX draft_groups_status_idx ON draft_groups (status, id);
CREATE INDEX draft_groups_creator_idx ON draft_groups (created_by_user_id, id);
CREATE INDEX draft_groups_location_idx ON draft_groups (location_id, id);
CREATE INDEX draft_groups_source_idx ON draft_groups (source, id);

-- Generated names (AdminDraft_NNN-YYYY-MM-DD): one counter row per (prefix, UTC day), bumped atomically.
CREATE TABLE draft_group_name_counters (
    prefix  text NOT NULL,
    day     date NOT NULL,
    last_no integer NOT NULL CHECK (last_no > 0),
    PRIMARY KEY (prefix, day)
);

ALTER TABLE weigh_in_drafts ADD COLUMN draft_group_id bigint;

-- Backfill: each draft gets a group with the draft's own id, status, location, creator and time.
INSERT INTO draft_groups (id, name, status, source, location_id, created_by_user_id, created_at,
                          decided_by_user_id, decided_at)
OVERRIDING SYSTEM VALUE
SELECT d.id,
       'AutoSingleDraft_' || to_char(d.created_at AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS'),
       d.status, d.source, d.location_id, d.created_by_user_id, d.created_at,
       CASE WHEN d.status <> 'DRAFT' THEN d.created_by_user_id END,
       CASE WHEN d.status <> 'DRAFT' THEN d.updated_at END
FROM weigh_in_drafts d;

DO $$
BEGIN
    PERFORM setval(pg_get_serial_sequence('draft_groups', 'id'), coalesce(max(id), 0) + 1, false)
    FROM draft_groups;
END
$$;

UPDATE weigh_in_drafts SET draft_group_id = id;

ALTER TABLE weigh_in_drafts ALTER COLUMN draft_group_id SET NOT NULL;
ALTER TABLE weigh_in_drafts
    ADD CONSTRAINT weigh_in_drafts_group_fkey
    FOREIGN KEY (draft_group_id, location_id, status) REFERENCES draft_groups (id, location_id, status);
CREATE INDEX weigh_in_drafts_group_idx ON weigh_in_drafts (draft_group_id, id);

ALTER TABLE approval_actions ADD COLUMN draft_group_id bigint REFERENCES draft_groups (id);
ALTER TABLE approval_actions ADD CONSTRAINT approval_actions_subject_check
    CHECK (draft_group_id IS NOT NULL OR draft_id IS NOT NULL);
UPDATE approval_actions SET draft_group_id = draft_id WHERE draft_id IS NOT NULL;
CREATE INDEX approval_actions_group_idx ON approval_actions (draft_group_id) WHERE draft_group_id IS NOT NULL;

ALTER TABLE transactions ADD COLUMN draft_group_id bigint REFERENCES draft_groups (id);
-- a one-time backfill of the new column, not a change of what the ledger says
ALTER TABLE transactions DISABLE TRIGGER transactions_append_only;
UPDATE transactions SET draft_group_id = draft_id WHERE draft_id IS NOT NULL;
ALTER TABLE transactions ENABLE TRIGGER transactions_append_only;
CREATE INDEX transactions_group_idx ON transactions (draft_group_id) WHERE draft_group_id IS NOT NULL;
