-- Baseline: users, master data, balances, single drafts, audit and the ledger (before draft groups).

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text NOT NULL CHECK (username = btrim(username) AND length(username) BETWEEN 1 AND 100),
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('ADMIN', 'OPERATOR')),
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_ci_key ON users (lower(username));

-- Refresh tokens are stored as SHA-256 digests; a family is one login's chain of refreshes.
CREATE TABLE refresh_tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  uuid NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_user_live_idx ON refresh_tokens (user_id) WHERE revoked_at IS NULL;
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE locations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       text NOT NULL UNIQUE CHECK (code = btrim(code) AND length(code) BETWEEN 1 AND 20),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    is_active  boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE articles (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_no              text NOT NULL CHECK (article_no = btrim(article_no) AND length(article_no) BETWEEN 1 AND 50),
    description             text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    article_group           text CHECK (length(article_group) <= 100),
    uom                     text NOT NULL DEFAULT 'KG' CHECK (uom IN ('KG', 'L')),
    pack_size               numeric(14,2) CHECK (pack_size > 0),
    pack_uom                text CHECK (length(pack_uom) <= 20),
    barcode                 text CHECK (length(barcode) <= 100),
    manufacturer            text CHECK (length(manufacturer) <= 200),
    manufacturer_art_number text CHECK (length(manufacturer_art_number) <= 100),
    reorder_threshold       numeric(14,2) CHECK (reorder_threshold >= 0),
    is_paint                boolean NOT NULL DEFAULT true,
    is_active               boolean NOT NULL DEFAULT true,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
-- article_no is unique case-insensitively, so resolve by article_no is never ambiguous.
CREATE UNIQUE INDEX articles_article_no_ci_key ON articles (upper(article_no));
CREATE INDEX articles_barcode_ci_idx ON articles (upper(barcode)) WHERE barcode IS NOT NULL;

-- Aliases are stored upper-cased and trimmed; the slot column caps them at 5 per article,
-- held by the unique (article_id, slot) even when inserts race.
CREATE TABLE article_aliases (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    slot       smallint NOT NULL CHECK (slot BETWEEN 1 AND 5),
    alias      text NOT NULL UNIQUE CHECK (alias = upper(btrim(alias)) AND length(alias) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (article_id, slot)
);

-- Paint batch codes are 4-5 or 9-12 ASCII digits; consumables use the system batch 'NA'.
CREATE TABLE batches (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id    bigint NOT NULL REFERENCES articles (id),
    batch_code    text NOT NULL CHECK (batch_code = 'NA' OR batch_code ~ '^([0-9]{4,5}|[0-9]{9,12})$'),
    received_date date,
    expiry_date   date,
    note          text CHECK (length(note) <= 1000),
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (article_id, batch_code),
    UNIQUE (id, article_id)  -- target of the composite foreign keys below
);
CREATE INDEX batches_fefo_idx ON batches (article_id, expiry_date, batch_code) WHERE is_active;

-- Balances: one row per (location, batch); the composite FK makes a batch of another article impossible.
CREATE TABLE stock (
    location_id bigint NOT NULL REFERENCES locations (id),
    batch_id    bigint NOT NULL,
    article_id  bigint NOT NULL,
    quantity_kg numeric(14,2) NOT NULL DEFAULT 0 CHECK (quantity_kg >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (location_id, batch_id),
    FOREIGN KEY (batch_id, article_id) REFERENCES batches (id, article_id)
);
CREATE INDEX stock_article_idx ON stock (article_id);
CREATE INDEX stock_batch_idx ON stock (batch_id);

CREATE TABLE surplus (
    location_id bigint NOT NULL REFERENCES locations (id),
    batch_id    bigint NOT NULL,
    article_id  bigint NOT NULL,
    quantity_kg numeric(14,2) NOT NULL DEFAULT 0 CHECK (quantity_kg >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (location_id, batch_id),
    FOREIGN KEY (batch_id, article_id) REFERENCES batches (id, article_id)
);
CREATE INDEX surplus_article_idx ON surplus (article_id);
CREATE INDEX surplus_batch_idx ON surplus (batch_id);

CREATE TABLE weigh_in_drafts (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    location_id         bigint NOT NULL REFERENCES locations (id),
    article_id          bigint NOT NULL,
    batch_id            bigint NOT NULL,
    quantity_kg         numeric(14,2) NOT NULL CHECK (quantity_kg > 0 AND quantity_kg <= 9999.99),
    status              text NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'APPROVED', 'REJECTED')),
    draft_type          text NOT NULL DEFAULT 'WEIGH_IN' CHECK (draft_type IN ('WEIGH_IN', 'INVENTORY_SHORTAGE')),
    source              text NOT NULL
                        CHECK (source IN ('ui_admin', 'ui_operator', 'manual', 'scale', 'import', 'inventory_count')),
    client_event_id     text NOT NULL UNIQUE CHECK (length(client_event_id) BETWEEN 1 AND 100),
    note                text CHECK (length(note) <= 1000),
    created_by_user_id  bigint NOT NULL REFERENCES users (id),
    consumed_surplus_kg numeric(14,2) CHECK (consumed_surplus_kg >= 0),
    consumed_stock_kg   numeric(14,2) CHECK (consumed_stock_kg >= 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (batch_id, article_id) REFERENCES batches (id, article_id),
    -- what an approval consumed is recorded exactly when the line is approved
    CHECK ((status = 'APPROVED') = (consumed_stock_kg IS NOT NULL AND consumed_surplus_kg IS NOT NULL))
);
CREATE INDEX weigh_in_drafts_status_idx ON weigh_in_drafts (status, id);
CREATE INDEX weigh_in_drafts_creator_idx ON weigh_in_drafts (created_by_user_id, id);
CREATE INDEX weigh_in_drafts_article_idx ON weigh_in_drafts (article_id, id);
CREATE INDEX weigh_in_drafts_location_idx ON weigh_in_drafts (location_id, id);
CREATE INDEX weigh_in_drafts_pending_idx ON weigh_in_drafts (location_id, batch_id) WHERE status = 'DRAFT';

CREATE TABLE approval_actions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action        text NOT NULL CHECK (action IN ('APPROVE', 'REJECT', 'EDIT', 'RENAME')),
    draft_id      bigint REFERENCES weigh_in_drafts (id),
    actor_user_id bigint NOT NULL REFERENCES users (id),
    old_value     jsonb,
    new_value     jsonb,
    note          text CHECK (length(note) <= 1000),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX approval_actions_draft_idx ON approval_actions (draft_id) WHERE draft_id IS NOT NULL;

-- The ledger. Stock balance = sum of STOCK rows, surplus balance = sum of SURPLUS rows per (location, batch).
CREATE TABLE transactions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx_type         text NOT NULL CHECK (tx_type IN
                        ('WEIGH_IN', 'SURPLUS_CONSUMED', 'STOCK_CONSUMED', 'INVENTORY_ADJUSTMENT', 'STOCK_RECEIPT')),
    bucket          text CHECK (bucket IN ('STOCK', 'SURPLUS')),
    quantity_kg     numeric(14,2) NOT NULL CHECK (quantity_kg <> 0),
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    location_id     bigint NOT NULL REFERENCES locations (id),
    article_id      bigint NOT NULL,
    batch_id        bigint NOT NULL,
    user_id         bigint REFERENCES users (id),
    source          text CHECK (length(source) <= 50),
    client_event_id text CHECK (length(client_event_id) <= 100),
    order_number    text CHECK (order_number = upper(btrim(order_number)) AND length(order_number) BETWEEN 1 AND 50),
    draft_id        bigint REFERENCES weigh_in_drafts (id),
    meta            jsonb,
    FOREIGN KEY (batch_id, article_id) REFERENCES batches (id, article_id),
    -- each movement type books into its bucket; WEIGH_IN is informational and books into none
    CHECK (CASE tx_type
             WHEN 'WEIGH_IN' THEN bucket IS NULL AND quantity_kg > 0
             WHEN 'SURPLUS_CONSUMED' THEN bucket = 'SURPLUS' AND quantity_kg < 0
             WHEN 'STOCK_CONSUMED' THEN bucket = 'STOCK' AND quantity_kg < 0
             WHEN 'STOCK_RECEIPT' THEN bucket = 'STOCK' AND quantity_kg > 0
             ELSE bucket IS NOT NULL
           END)
);
CREATE INDEX transactions_key_idx ON transactions (location_id, batch_id) INCLUDE (bucket, quantity_kg);
CREATE INDEX transactions_article_idx ON transactions (article_id, id);
CREATE INDEX transactions_batch_idx ON transactions (batch_id, id);
CREATE INDEX transactions_type_idx ON transactions (tx_type, id);
CREATE INDEX transactions_occurred_idx ON transactions (occurred_at, id);
CREATE INDEX transactions_order_idx ON transactions (order_number, id) WHERE order_number IS NOT NULL;
CREATE INDEX transactions_draft_idx ON transactions (draft_id) WHERE draft_id IS NOT NULL;
CREATE INDEX transactions_last_consumed_idx ON transactions (article_id, occurred_at) WHERE tx_type = 'WEIGH_IN';

CREATE FUNCTION transactions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on transactions is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER transactions_append_only
    BEFORE UPDATE OR DELETE ON transactions
    FOR EACH STATEMENT EXECUTE FUNCTION transactions_append_only();
