-- Version 2: a fleet. Any number of `mailbox run` workers share the database; the one-runner lock of
-- version 1 goes. A worker is a row renewed while it lives (heartbeat); every active incoming account
-- is leased by one worker at a time, with a fencing number new at every take (a sequence), which every
-- write of that account's mail checks in its own transaction (the lease row held FOR SHARE): a worker
-- whose lease was taken while it was frozen or cut off can no longer write. Outbound claims carry the
-- claiming worker; a dead worker's claims are due again.

INSERT INTO mailbox.settings (name, value, description) VALUES
  ('lease_seconds', '60', 'an incoming account is leased by one worker for this long, renewed while the worker lives; a dead worker''s accounts are taken over after it, plus one read interval'),
  ('claim_batch', '64', 'outbound messages a worker claims at a time (FOR UPDATE SKIP LOCKED)'),
  ('worker_concurrency', '16', 'incoming accounts a worker reads at the same time');

DROP TABLE mailbox.run_lock;
DROP SEQUENCE mailbox.run_lock_generation;

-- The workers: alive while expires_at is ahead (each heartbeat moves it one lease length on).
CREATE TABLE mailbox.workers (
  id text PRIMARY KEY,
  host text NOT NULL,
  pid int NOT NULL,
  started_at timestamptz NOT NULL,
  heartbeat timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);

-- One lease per incoming account (by lower-cased name). Free when expires_at has passed; taking it
-- gives it a new fencing number, so the last holder's writes are refused from then on.
CREATE SEQUENCE mailbox.lease_fencing;
CREATE TABLE mailbox.leases (
  account_key text PRIMARY KEY,
  worker_id text,
  fencing bigint NOT NULL,
  taken_at timestamptz,
  expires_at timestamptz NOT NULL
);

-- Every take: who took which account when, from whom, and when the previous lease ran out (a take
-- happens only after it: no account is ever held by two workers at once).
CREATE TABLE mailbox.lease_history (
  account_key text NOT NULL,
  fencing bigint NOT NULL,
  worker_id text NOT NULL,
  taken_at timestamptz NOT NULL,
  previous_worker text,
  previous_expires_at timestamptz,
  PRIMARY KEY (account_key, fencing)
);

-- The worker that claimed a message in flight (NULL: claimed by a command that is not a worker).
ALTER TABLE mailbox.emails ADD COLUMN claimed_by text;
-- The worker that staged a body: only a dead worker's staged bodies are swept.
ALTER TABLE mailbox.staged ADD COLUMN worker_id text;

-- OAuth 2.0 tokens of a fleet: shared by every worker, sealed with MAILBOX_TOKEN_KEY (AES-256-GCM, the
-- format of the token files), one row per account. A refresh holds the account's token_locks row
-- (FOR UPDATE) from reading the tokens to storing the new ones, so two workers never spend the same
-- refresh token.
CREATE TABLE mailbox.oauth_tokens (
  account_key text PRIMARY KEY,
  sealed jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE mailbox.token_locks (
  account_key text PRIMARY KEY
);
