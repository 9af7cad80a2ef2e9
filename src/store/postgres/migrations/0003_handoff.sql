-- Version 3: where received mail goes next (issue 13) and accounts that read several IMAP folders.
-- A message's hand-off lives in its record (record.handoff); its state is a generated column so the
-- open hand-offs of an account are found by an index. The IMAP cursor is kept per folder: slot '' is
-- the account's own folder (the cursor it always had), another folder has its name as the slot.

ALTER TABLE mailbox.emails
  ADD COLUMN handoff_state text GENERATED ALWAYS AS (record -> 'handoff' ->> 'state') STORED;
CREATE INDEX emails_handoff_open ON mailbox.emails (account_key, seq)
  WHERE handoff_state IS NOT NULL AND handoff_state <> 'delivered';

ALTER TABLE mailbox.imap_cursors ADD COLUMN slot text NOT NULL DEFAULT '';
ALTER TABLE mailbox.imap_cursors DROP CONSTRAINT imap_cursors_pkey;
ALTER TABLE mailbox.imap_cursors ADD PRIMARY KEY (account_key, slot);
