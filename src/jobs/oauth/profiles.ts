// Adding and removing OAuth 2.0 profiles, each in one transaction: names unique (provisioned ones
// too), provisioned profiles untouched, no profile removed while an account names it. A client secret
// typed for the profile goes into the keychain before the config names it, as a password does.
import type { KeychainRef, SecretRef } from '../../core/account.js';
import { profilesOf, withProfiles } from '../../core/config.js';
import { MailboxError, shown } from '../../core/errors.js';
import { accountsUsingProfile, parseOAuthProfile, profilesInEffect, type OAuthProfile, type OAuthProfileInput } from '../../core/oauth.js';
import { accountViews, sameName } from '../../core/rules.js';
import type { AccountStores } from '../accounts/stores.js';

/** The keychain entry of a profile's client secret typed on standard input. */
export function clientSecretRef(profile: string): KeychainRef {
  return { kind: 'keychain', service: 'mailbox-oauth-client', key: profile.toLowerCase() };
}

export type ClientSecretChoice = { kind: 'keychain'; secret: string } | Exclude<SecretRef, { kind: 'keychain' }>;

export async function addProfile(stores: AccountStores, input: OAuthProfileInput, secret?: ClientSecretChoice): Promise<OAuthProfile> {
  const name = typeof input.name === 'string' ? input.name : '';
  const ref = secret ? (secret.kind === 'keychain' ? clientSecretRef(name) : secret) : undefined;
  const profile = parseOAuthProfile({ ...input, clientSecret: ref });
  const provisioned = profilesOf(await stores.provisioned());
  if (secret?.kind === 'keychain') {
    const down = await stores.secrets.probeKeychain();
    if (down) {
      throw new MailboxError(down.code, `${down.message}; nothing was saved`, {
        hint: 'keep the client secret in an environment variable or behind a command instead',
        field: 'client-secret',
      });
    }
  }
  return stores.config.update(async (config) => {
    const taken = profilesInEffect(profilesOf(config), provisioned).find((p) => sameName(p.name, profile.name));
    if (taken) {
      throw new MailboxError('EVALUE', `invalid OAuth profile name ${shown(profile.name)}: ${provisioned.some((p) => sameName(p.name, taken.name)) ? 'a provisioned profile' : 'a profile'} named ${taken.name} already exists`, {
        field: 'name',
        hint: `remove it first (mailbox oauth remove ${taken.name}) or change profiles with mailbox apply`,
      });
    }
    let undo: (() => Promise<unknown>) | undefined;
    if (secret?.kind === 'keychain' && profile.clientSecret?.kind === 'keychain') {
      const keychain = profile.clientSecret;
      await stores.secrets.save(keychain, secret.secret);
      undo = () => stores.secrets.remove(keychain);
    }
    return { config: withProfiles(config, [...profilesOf(config), profile]), result: profile, undo };
  });
}

export interface RemoveProfileOutcome {
  removed: string;
  /** Its client secret's keychain entry was removed (null: it had none). */
  secretRemoved: boolean | null;
}

export async function removeProfile(stores: AccountStores, name: string): Promise<RemoveProfileOutcome> {
  const provisioned = await stores.provisioned();
  return stores.config.update((config) => {
    if (profilesOf(provisioned).some((p) => sameName(p.name, name))) {
      throw new MailboxError('EPROVISIONED', `OAuth profile ${name} is provisioned by the administrator and cannot be removed`);
    }
    const profile = profilesOf(config).find((p) => sameName(p.name, name));
    if (!profile) throw new MailboxError('ENOTFOUND', `no OAuth profile named ${shown(name)}`, { hint: 'mailbox oauth list shows the profiles' });
    const users = accountsUsingProfile(accountViews(config, provisioned.accounts), profile.name);
    if (users.length > 0) {
      throw new MailboxError('EVALUE', `OAuth profile ${profile.name} is used by account${users.length > 1 ? 's' : ''} ${users.map((a) => a.name).join(', ')}`, {
        field: 'oauth',
        hint: `give ${users.length > 1 ? 'them' : 'it'} another profile, or remove ${users.length > 1 ? 'them' : 'it'}, first`,
        fixes: [{ field: 'oauth', value: 'OTHER' }],
        account: users[0]!.name,
      });
    }
    const outcome: RemoveProfileOutcome = { removed: profile.name, secretRemoved: null };
    const keychain = profile.clientSecret?.kind === 'keychain' && profile.clientSecret.service === clientSecretRef(profile.name).service ? profile.clientSecret : undefined;
    return {
      config: withProfiles(config, profilesOf(config).filter((p) => p !== profile)),
      result: outcome,
      afterWrite: async () => {
        if (!keychain) return;
        outcome.secretRemoved = await stores.secrets.remove(keychain).then(
          () => true,
          () => false,
        );
      },
    };
  });
}
