// Scripted IMAP, POP3 and SMTP servers that accept exactly the login mechanisms they are told to,
// check the credentials, and record which mechanism each connection used: for proving that `mailbox
// test` (the probe) and `mailbox run` (the adapters, on imapflow, our POP3 client and nodemailer)
// log in the same way. After the login they serve what the probe and a read or send cycle need.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { serveCommands, type Script, type ScriptConn } from './scripted-server.js';

export interface LoginScript {
  /** The credentials the server accepts. */
  user: string;
  secret: string;
  /** What each connection logged in with, in order ("AUTHENTICATE PLAIN", "LOGIN", "AUTH LOGIN", "USER", ...). */
  readonly used: string[];
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
/** What the server reads is latin1-decoded (bytes kept): compare in that form. */
const wire = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

function saslOk(login: LoginScript, mechanism: string, responses: string[], host?: string): boolean {
  const [first, second] = responses;
  switch (mechanism) {
    case 'PLAIN':
      return first === b64(`\0${login.user}\0${login.secret}`);
    case 'LOGIN':
      return first === b64(login.user) && second === b64(login.secret);
    case 'XOAUTH2':
      return first === b64(`user=${login.user}\x01auth=Bearer ${login.secret}\x01\x01`);
    case 'OAUTHBEARER':
      return Buffer.from(first ?? '', 'base64').toString('utf8').startsWith(`n,a=${login.user},\x01host=${host}\x01`) && Buffer.from(first ?? '', 'base64').toString('utf8').includes(`auth=Bearer ${login.secret}\x01`);
    default:
      return false;
  }
}

/** The SASL exchange after "AUTHENTICATE mech [ir]" or "AUTH mech [ir]": challenges until every response is in. */
export async function readSasl(c: ScriptConn, mechanism: string, initial: string | undefined, challenge: (text: string) => void): Promise<string[]> {
  if (mechanism === 'LOGIN') {
    challenge(b64('Username:'));
    const user = await c.readLine();
    challenge(b64('Password:'));
    return [user, await c.readLine()];
  }
  if (initial !== undefined && initial !== '=') return [initial];
  challenge('');
  return [await c.readLine()];
}

export interface ImapLoginOptions {
  /** CAPABILITY, e.g. "IMAP4rev1 AUTH=LOGIN LOGINDISABLED". */
  caps: string;
  /** Accepted: "LOGIN" (the command) and SASL names ("PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"). */
  accept: { command?: boolean; sasl: string[] };
  /** The host the client connects to, for OAUTHBEARER. */
  host?: string;
  /** Replaces the answer to these commands after the login (a refusal, say). */
  answers?: Record<string, (tag: string) => string>;
}

/** Reads one IMAP command with its literals ("{n}" answered with "+"): the whole line, and the literals alone. */
async function readImapCommand(c: ScriptConn): Promise<{ line: string; literals: string[] }> {
  let line = await c.readLine();
  const literals: string[] = [];
  while (/\{\d+\}$/.test(line)) {
    c.line('+ go on');
    const next = await c.readLine();
    const size = Number(/\{(\d+)\}$/.exec(line)![1]);
    literals.push(next.slice(0, size));
    line = `${line.replace(/\{\d+\}$/, '')}${next}`;
  }
  return { line, literals };
}

/** Whether LOGIN carried `value`: as a literal, or as a quoted string (imapflow quotes 8-bit text too), or an atom. */
function loginCarries(command: { line: string; literals: string[] }, value: string): boolean {
  const quoted = `"${wire(value).replace(/["\\]/g, (ch) => `\\${ch}`)}"`;
  return command.literals.includes(wire(value)) || command.line.includes(` ${quoted}`) || command.line.split(' ').includes(value);
}

/** One IMAP command as read: the whole line (literals inlined), the literals alone, its tag, verb (upper case) and arguments. */
export interface ImapCommand {
  line: string;
  literals: string[];
  tag: string;
  verb: string;
  args: string[];
}

/**
 * Greets and serves IMAP commands until LOGOUT or the client leaves: `handle` answers what it knows
 * (returning true); CAPABILITY, LOGOUT and the rest (ID, ENABLE, NAMESPACE, NOOP: OK) are answered here.
 */
export async function serveImap(c: ScriptConn, caps: string, handle: (command: ImapCommand) => boolean | Promise<boolean>): Promise<void> {
  c.line('* OK ready');
  for (;;) {
    let read: { line: string; literals: string[] };
    try {
      read = await readImapCommand(c);
    } catch {
      return; // the client left
    }
    const [tag = '', verb = '', ...args] = read.line.split(' ');
    const command = { ...read, tag, verb: verb.toUpperCase(), args };
    if (await handle(command)) continue;
    if (command.verb === 'CAPABILITY') {
      c.line(`* CAPABILITY ${caps}`);
      c.line(`${tag} OK done`);
    } else if (command.verb === 'LOGOUT') {
      c.line('* BYE bye');
      c.line(`${tag} OK done`);
      c.end();
      return;
    } else {
      c.line(`${tag} OK done`);
    }
  }
}

export function imapLoginServer(login: LoginScript, options: ImapLoginOptions): Script {
  return (c) =>
    serveImap(c, options.caps, async (command) => {
      const { tag, verb, args } = command;
      if (verb === 'LOGIN') {
        login.used.push('LOGIN');
        const ok = options.accept.command && loginCarries(command, login.user) && loginCarries(command, login.secret);
        c.line(`${tag} ${ok ? 'OK logged in' : 'NO [AUTHENTICATIONFAILED] no'}`);
      } else if (verb === 'AUTHENTICATE') {
        const mechanism = args[0]!.toUpperCase();
        login.used.push(`AUTHENTICATE ${mechanism}`);
        if (!options.accept.sasl.includes(mechanism)) {
          c.line(`${tag} NO [CANNOT] not offered`);
          return true;
        }
        const responses = await readSasl(c, mechanism, args[1], (text) => c.line(`+ ${text}`));
        c.line(`${tag} ${saslOk(login, mechanism, responses, options.host) ? 'OK authenticated' : 'NO [AUTHENTICATIONFAILED] no'}`);
      } else if (options.answers?.[verb]) {
        c.line(options.answers[verb]!(tag));
      } else if (verb === 'EXAMINE' || verb === 'SELECT') {
        c.line('* 0 EXISTS');
        c.line('* OK [UIDVALIDITY 7] ok');
        c.line('* OK [UIDNEXT 1] ok');
        c.line(`${tag} OK [READ-ONLY] done`);
      } else if (verb === 'STATUS') {
        c.line(`* STATUS "INBOX" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 7)`);
        c.line(`${tag} OK done`);
      } else return false;
      return true;
    });
}

export interface Pop3LoginOptions {
  /** CAPA lines, e.g. ["SASL LOGIN", "UIDL"]. */
  capa: string[];
  /** Accepted: USER/PASS and SASL names. */
  accept: { user?: boolean; sasl: string[] };
}

export function pop3LoginServer(login: LoginScript, options: Pop3LoginOptions): Script {
  return async (c) => {
    c.line('+OK ready');
    let user = '';
    await serveCommands(c, {
      CAPA: () => {
        c.line('+OK');
        for (const l of options.capa) c.line(l);
        c.line('.');
      },
      USER: (_l, [, name]) => {
        login.used.push('USER');
        user = name ?? '';
        c.line(options.accept.user ? '+OK' : '-ERR USER not allowed');
      },
      PASS: (l) => c.line(options.accept.user && user === login.user && l.slice(5) === wire(login.secret) ? '+OK in' : '-ERR [AUTH] no'),
      AUTH: async (_l, [, mech, initial]) => {
        const mechanism = (mech ?? '').toUpperCase();
        login.used.push(`AUTH ${mechanism}`);
        if (!options.accept.sasl.includes(mechanism)) return c.line('-ERR not offered');
        const responses = await readSasl(c, mechanism, initial, (text) => c.line(`+ ${text}`));
        c.line(saslOk(login, mechanism, responses) ? '+OK in' : '-ERR [AUTH] no');
      },
      STAT: () => c.line('+OK 0 0'),
      UIDL: () => (c.line('+OK'), c.line('.')),
      LIST: () => (c.line('+OK'), c.line('.')),
      QUIT: () => {
        c.line('+OK bye');
        c.end();
        return 'stop';
      },
    });
  };
}

export interface SmtpLoginOptions {
  /** The AUTH mechanisms EHLO offers (SCRAM-SHA-256 and CRAM-MD5 are checked too). */
  offer: string[];
  /** SCRAM-SHA-256: a server that signs wrongly (it does not know the password: an impostor). */
  badSignature?: boolean;
}

/**
 * The server side of RFC 5802 SCRAM-SHA-256 after "AUTH SCRAM-SHA-256 [ir]": checks the client's
 * proof against the password and signs the exchange. Resolves with whether the client proved it.
 */
async function scramServer(c: ScriptConn, login: LoginScript, initial: string | undefined, challenge: (text: string) => void, badSignature: boolean): Promise<boolean> {
  const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  let first = initial;
  if (first === undefined) {
    challenge('');
    first = await c.readLine();
  }
  const firstBare = Buffer.from(first, 'base64').toString('utf8').replace(/^n,,/, '');
  const clientNonce = /(?:^|,)r=([^,]*)/.exec(firstBare)?.[1] ?? '';
  const salt = randomBytes(16);
  const serverFirst = `r=${clientNonce}${randomBytes(9).toString('base64')},s=${salt.toString('base64')},i=4096`;
  challenge(Buffer.from(serverFirst).toString('base64'));
  const final = Buffer.from(await c.readLine(), 'base64').toString('utf8');
  const withoutProof = final.replace(/,p=[^,]*$/, '');
  const proof = Buffer.from(/,p=([^,]*)$/.exec(final)?.[1] ?? '', 'base64');
  const salted = pbkdf2Sync(Buffer.from(login.secret, 'utf8'), salt, 4096, 32, 'sha256');
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const authMessage = `${firstBare},${serverFirst},${withoutProof}`;
  const signature = hmac(storedKey, authMessage);
  const clientKey = Buffer.from(proof.map((b, i) => b ^ (signature[i] ?? 0)));
  const ok = proof.length === 32 && createHash('sha256').update(clientKey).digest().equals(storedKey) && firstBare.startsWith(`n=${login.user},`);
  if (!ok) return false;
  const serverSignature = hmac(hmac(salted, 'Server Key'), badSignature ? `${authMessage}x` : authMessage);
  challenge(Buffer.from(`v=${serverSignature.toString('base64')}`).toString('base64'));
  await c.readLine();
  return true;
}

function cramOk(login: LoginScript, challenge: string, response: string): boolean {
  const expected = createHmac('md5', Buffer.from(login.secret, 'utf8')).update(challenge).digest('hex');
  return Buffer.from(response, 'base64').toString('utf8') === `${login.user} ${expected}`;
}

export function smtpLoginServer(login: LoginScript, options: SmtpLoginOptions): Script {
  return async (c) => {
    c.line('220 scripted ESMTP');
    await serveCommands(c, {
      EHLO: () => {
        c.line('250-scripted');
        c.line('250-SIZE 1000000');
        c.line(`250 AUTH ${options.offer.join(' ')}`);
      },
      AUTH: async (_l, [, mech, initial]) => {
        const mechanism = (mech ?? '').toUpperCase();
        login.used.push(`AUTH ${mechanism}`);
        if (!options.offer.includes(mechanism)) return c.line('504 5.5.4 not offered');
        const challenge = (text: string) => c.line(`334 ${text}`);
        let ok: boolean;
        if (mechanism === 'SCRAM-SHA-256') ok = await scramServer(c, login, initial, challenge, Boolean(options.badSignature));
        else if (mechanism === 'CRAM-MD5') {
          const text = `<${randomBytes(6).toString('hex')}@scripted>`;
          challenge(Buffer.from(text).toString('base64'));
          ok = cramOk(login, text, await c.readLine());
        } else ok = saslOk(login, mechanism, await readSasl(c, mechanism, initial, challenge));
        c.line(ok ? '235 2.7.0 ok' : '535 5.7.8 no');
      },
      MAIL: () => c.line('250 ok'),
      RCPT: () => c.line('250 ok'),
      DATA: async () => {
        c.line('354 go ahead');
        while ((await c.readLine()) !== '.');
        c.line('250 2.0.0 queued');
      },
      ...smtpHousekeeping(c),
    });
  };
}

/** RSET, NOOP and QUIT, as every scripted SMTP server answers them. */
export function smtpHousekeeping(c: ScriptConn): Record<string, () => void | 'stop'> {
  return {
    RSET: () => c.line('250 ok'),
    NOOP: () => c.line('250 ok'),
    QUIT: () => {
      c.line('221 bye');
      c.end();
      return 'stop';
    },
  };
}
