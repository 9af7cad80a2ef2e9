-- Version 4: the OAuth 2.0 profiles (issue 11) and the operating settings (issue 16: pause, redirect,
-- guards, retention) of the configuration, which a database store of version 1-3 did not keep. Both
-- are small documents changed with the accounts, under the same lock: they live on the config row.

ALTER TABLE mailbox.config
  ADD COLUMN oauth_profiles jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN operating_settings jsonb NOT NULL DEFAULT '{}';
