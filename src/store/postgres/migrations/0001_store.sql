-- Version 1 of the PostgreSQL store: everything the local files keep (config.json, the Maildir
-- boxes, state/), as tables of the schema "mailbox". Applied by `mailbox db migrate` in one
-- transaction. Records are kept whole as JSON (the same shape as a line of the local email log);
-- the columns queries need are generated from them, so no writer can let the two disagree.

-- Settings of the store, shown by `mailbox db status`.
CREATE TABLE mailbox.settings (
  name text PRIMARY KEY,
  value jsonb NOT NULL,
  description text NOT NULL
);
INSERT INTO mailbox.settings (name, value, description) VALUES
  ('body_chunk_bytes', '1048576', 'message bodies are kept, written and read in pieces of this many bytes');

-- Accounts and filters: config.json as rows. The one row of `config` is locked (FOR UPDATE) by
-- every change, so concurrent writers never lose each other's changes.
CREATE TABLE mailbox.config (
  id int PRIMARY KEY CHECK (id = 1),
  version int NOT NULL,
  provisioned_active jsonb NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO mailbox.config (id, version) VALUES (1, 1);

CREATE TABLE mailbox.accounts (
  name_key text PRIMARY KEY,
  position int NOT NULL,
  doc jsonb NOT NULL
);

CREATE TABLE mailbox.filters (
  name_key text PRIMARY KEY,
  position int NOT NULL,
  doc jsonb NOT NULL
);

-- The email log: the latest record of every message.
CREATE TABLE mailbox.emails (
  id text COLLATE "C" PRIMARY KEY,
  -- The order records were first written in (the log's order).
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  record jsonb NOT NULL CHECK (record ->> 'id' = id),
  state text NOT NULL GENERATED ALWAYS AS (record ->> 'state') STORED,
  account_key text GENERATED ALWAYS AS (lower(record ->> 'account')) STORED,
  source text GENERATED ALWAYS AS (record ->> 'source') STORED,
  created_at text COLLATE "C" NOT NULL GENERATED ALWAYS AS (record ->> 'createdAt') STORED,
  attempts int NOT NULL GENERATED ALWAYS AS ((record ->> 'attempts')::int) STORED,
  next_attempt text GENERATED ALWAYS AS (record ->> 'nextAttempt') STORED,
  in_flight boolean NOT NULL GENERATED ALWAYS AS (coalesce(record ->> 'inFlight', '') <> '') STORED
);
-- Exactly once: one message per account and source id (IMAP UIDVALIDITY/UID, POP3 UIDL).
CREATE UNIQUE INDEX emails_source ON mailbox.emails (account_key, source) WHERE source IS NOT NULL;
-- The outbox, oldest first, for claims.
CREATE INDEX emails_outbox ON mailbox.emails (created_at, id) WHERE state IN ('send-ready', 'send-retry-backoff');

-- Message bodies, byte for byte, in pieces (part 0, 1, ...) so none is ever held whole.
CREATE TABLE mailbox.bodies (
  id text COLLATE "C" NOT NULL,
  part int NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (id, part)
);

-- Bodies written before their batch is committed (large messages, or many small ones): a body whose
-- email row never came is removed by the next runner start once it is old.
CREATE TABLE mailbox.staged (
  id text COLLATE "C" PRIMARY KEY,
  staged_at timestamptz NOT NULL DEFAULT now()
);

-- The seen state of each incoming account (by lower-cased name).
CREATE TABLE mailbox.imap_cursors (
  account_key text PRIMARY KEY,
  cursor jsonb NOT NULL
);
CREATE TABLE mailbox.pop3_seen (
  account_key text NOT NULL,
  uidl text NOT NULL,
  PRIMARY KEY (account_key, uidl)
);
CREATE TABLE mailbox.pop3_meta (
  account_key text PRIMARY KEY,
  meta jsonb NOT NULL
);

-- What `mailbox status` shows: the last cycle of each account.
CREATE TABLE mailbox.run_status (
  account_key text PRIMARY KEY,
  status jsonb NOT NULL
);

-- The runner's heartbeat (status --check tells a live runner from a hung or gone one), when the
-- retention setting last pruned (once a day for the whole store), and the push state of the accounts
-- it watches (by lower-cased name; NULL when no runner runs).
CREATE TABLE mailbox.runner_status (
  id int PRIMARY KEY CHECK (id = 1),
  runner jsonb,
  pruned_at text,
  push jsonb
);

-- The runner holding the store: its session holds an advisory lock; this row says who it is.
-- generation is new at every take (a sequence: never the same twice, even after the row is deleted):
-- a runner's write holds the row (FOR SHARE) and compares it with the generation it took, so a runner
-- that lost the lock can never write beside the next one.
CREATE SEQUENCE mailbox.run_lock_generation;
CREATE TABLE mailbox.run_lock (
  id int PRIMARY KEY CHECK (id = 1),
  pid int NOT NULL,
  host text NOT NULL,
  started_at timestamptz NOT NULL,
  generation bigint NOT NULL
);

-- A time written by the tool, or NULL when it cannot be read (such a retry is due at once).
CREATE FUNCTION mailbox.time_or_null(value text) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN value::timestamptz;
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$$;
