// imapflow for the reader: connected and logged in with our choice of mechanism, and its failures
// as ours.
import type { ImapFlow } from 'imapflow';
import type { Account } from '../../core/account.js';
import { MailboxError } from '../../core/errors.js';
import { imapflowLogger, type DebugLog } from '../debug-log.js';
import { libraryTarget } from '../net/dns.js';
import { connectionTls } from '../net/library-tls.js';
import type { LookupFn } from '../net/socket.js';
import type { Peer } from '../net/peer.js';
import { folderMissing } from './folders.js';
import { imapLoginRefused } from './login.js';
import { chooseImapMechanism, IMAPFLOW_LOGIN_METHOD, imapMechanismsOffered, type ImapMechanism } from './mechanism.js';

export interface ImapflowAuth {
  user: string;
  pass?: string;
  accessToken?: string;
  readonly loginMethod: string;
  /** The mechanism imapflow was told to use, once it asked. */
  chosen?: ImapMechanism;
}

/**
 * imapflow's `auth`. It reads `auth.loginMethod` when it logs in, after CAPABILITY (and after
 * STARTTLS): the getter answers with our choice for the capabilities it has just learnt, so `run`
 * logs in with the mechanism `test` used. A choice that fails (no usable mechanism) fails connect().
 */
export function imapflowAuth(account: Pick<Account, 'name' | 'auth' | 'user' | 'authMechanism'>, secret: string, capabilities: () => Iterable<string>): ImapflowAuth {
  const auth: ImapflowAuth = {
    user: account.user ?? '',
    ...(account.auth === 'oauth2' ? { accessToken: secret } : { pass: secret }),
    get loginMethod(): string {
      auth.chosen = chooseImapMechanism(account, capabilities());
      return IMAPFLOW_LOGIN_METHOD[auth.chosen];
    },
  };
  return auth;
}

interface ImapflowError {
  authenticationFailed?: boolean;
  response?: string;
  responseText?: string;
  serverResponseCode?: string;
  message?: string;
  code?: string;
}

export interface FailureContext {
  /** connect() failed: the login as imapflow did it, for an authentication failure. */
  login?: { chosen?: ImapMechanism; capabilities: Iterable<string>; user: string };
  /** The account's folder. */
  folder?: string;
  /** The failure is of selecting the folder (or of its STATUS). */
  selecting?: boolean;
}

/** An imapflow error as ours: a refused login, a missing folder, a dropped connection, else by its code. */
export function imapFailure(err: unknown, peer: Peer, context: FailureContext = {}): MailboxError {
  if (err instanceof MailboxError) return err;
  const e = (err ?? {}) as ImapflowError;
  const { login, folder = 'INBOX', selecting = false } = context;
  if (e.authenticationFailed && login) {
    const offered = imapMechanismsOffered(login.capabilities).join(' ') || 'LOGIN only';
    const response = typeof e.response === 'string' && e.response ? e.response : `NO ${e.responseText ?? e.message ?? ''}`;
    return imapLoginRefused(peer, login.user, login.chosen ?? 'LOGIN', offered, response);
  }
  if (e.serverResponseCode === 'NONEXISTENT' || (selecting && e.responseText)) {
    return folderMissing(peer, folder, e.responseText ?? e.message);
  }
  if (e.code === 'NoConnection' || e.code === 'EConnectionClosed') {
    return peer.fail({
      code: 'EPROTOCOL',
      message: `${peer.who} closed the connection (${peer.stage})`,
      hint: 'the server dropped the connection; its log may say why. What was stored is kept; the rest comes next cycle',
      cause: err,
    });
  }
  return peer.system(err);
}

export interface ImapflowOptions {
  /** The password or OAuth access token, resolved by the caller. */
  secret: string;
  debug?: DebugLog;
  timeoutMs?: number;
  /** Resolves the server's name (MAILBOX_DNS_SERVERS); default: imapflow resolves it through the system. */
  lookup?: LookupFn;
  /** imapflow's own quiet-socket timer; default: the larger of timeoutMs and 2 minutes. */
  socketTimeoutMs?: number;
}

/** An imapflow client (loaded lazily), connected and logged in; a failure is ours already. */
export async function connectImapflow(account: Account, peer: Peer, options: ImapflowOptions): Promise<ImapFlow> {
  const { ImapFlow } = await import('imapflow');
  const tls = await connectionTls(account, { lookup: options.lookup });
  const target = await libraryTarget(peer, options.lookup, options.timeoutMs ?? 30_000).catch((err: unknown) => {
    throw imapFailure(err, peer);
  });
  const auth = imapflowAuth(account, options.secret, () => client.capabilities.keys());
  const client: ImapFlow = new ImapFlow({
    ...target,
    port: account.port,
    secure: account.security === 'tls',
    doSTARTTLS: account.security === 'starttls' ? true : account.security === 'none' ? false : undefined,
    tls,
    auth,
    logger: options.debug ? (imapflowLogger(options.debug) as never) : false,
    disableAutoIdle: true,
    connectionTimeout: options.timeoutMs ?? 30_000,
    greetingTimeout: options.timeoutMs ?? 30_000,
    socketTimeout: options.socketTimeoutMs ?? Math.max(options.timeoutMs ?? 0, 120_000),
  });
  // imapflow reports a dropped connection as an 'error' event too; the pending command fails with it.
  client.on('error', () => undefined);
  peer.stage = 'login';
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw imapFailure(err, peer, { login: { chosen: auth.chosen, capabilities: client.capabilities.keys(), user: auth.user } });
  }
  return client;
}

/** The selectable folders the server lists (LIST "" "*"), each with its hierarchy delimiter. */
export async function selectableFolders(client: ImapFlow): Promise<Array<{ name: string; delimiter: string }>> {
  const listed = await client.list();
  return listed.filter((f) => !f.flags.has('\\Noselect') && !f.flags.has('\\NonExistent')).map((f) => ({ name: f.path, delimiter: f.delimiter || '/' }));
}
