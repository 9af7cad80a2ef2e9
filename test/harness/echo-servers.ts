// Scripted servers that quote back what they were sent: the credential in a refusal of the login
// (IMAP NO, POP3 -ERR, SMTP 535), or, after a login they accept, in a refusal of a later command, of
// a message (4xx/5xx to MAIL, RCPT or the end of DATA) or of the whole session (421). What they quote
// is every line of the login exchange, as the bytes came (and once more as latin1 text turned into
// UTF-8, as a careless server would), so every form of the secret is offered back to the client.
import { readSasl, serveImap, smtpHousekeeping } from './login-servers.js';
import { serveCommands, type Script, type ScriptConn } from './scripted-server.js';

/** Where the server quotes the login back. */
export type EchoAt =
  /** In its refusal of the login itself. */
  | 'login'
  /** After accepting the login: IMAP NO to STATUS/SELECT, POP3 -ERR to STAT/UIDL/LIST. */
  | 'session'
  /** SMTP, login accepted: 550 to MAIL FROM. */
  | 'mail'
  /** SMTP: 451 to RCPT TO (the message is retried later). */
  | 'rcpt'
  /** SMTP: 554 to the end of DATA. */
  | 'data'
  /** SMTP: 550 to the first recipient, the rest accepted, and the 250 to DATA quoting the login. */
  | 'some-rcpt'
  /** SMTP: 421 to MAIL FROM (the session ends). */
  | 'bye';

/** The login lines as they came, and again as latin1 read as UTF-8 (a server that re-encodes). */
function quote(lines: readonly string[]): Buffer {
  const text = lines.join(' | ');
  return Buffer.concat([Buffer.from(`you sent: ${text} | `, 'latin1'), Buffer.from(text, 'utf8')]);
}

function reply(c: ScriptConn, head: string, lines: readonly string[]): void {
  c.write(Buffer.concat([Buffer.from(`${head} `, 'latin1'), quote(lines), Buffer.from('\r\n')]));
}

export function imapEcho(caps: string, at: EchoAt): Script {
  return (c) => {
    const login: string[] = [];
    return serveImap(c, caps, async ({ line, literals, tag, verb, args }) => {
      if (verb === 'LOGIN' || verb === 'AUTHENTICATE') {
        login.push(line, ...literals);
        if (verb === 'AUTHENTICATE') login.push(...(await readSasl(c, (args[0] ?? '').toUpperCase(), args[1], (text) => c.line(`+ ${text}`))));
        if (at === 'login') reply(c, `${tag} NO [AUTHENTICATIONFAILED]`, login);
        else c.line(`${tag} OK logged in`);
      } else if (verb === 'STATUS' || verb === 'SELECT' || verb === 'EXAMINE') {
        reply(c, `${tag} NO [SERVERBUG]`, login);
      } else return false;
      return true;
    });
  };
}

export function pop3Echo(sasl: string[], at: EchoAt): Script {
  return async (c) => {
    c.line('+OK ready');
    const login: string[] = [];
    const answer = () => (at === 'login' ? reply(c, '-ERR [AUTH]', login) : c.line('+OK in'));
    const session = () => reply(c, '-ERR [SYS/PERM]', login);
    await serveCommands(c, {
      CAPA: () => {
        c.line('+OK');
        for (const l of ['USER', 'UIDL', ...(sasl.length ? [`SASL ${sasl.join(' ')}`] : [])]) c.line(l);
        c.line('.');
      },
      USER: (l) => {
        login.push(l);
        c.line('+OK');
      },
      PASS: (l) => {
        login.push(l);
        answer();
      },
      AUTH: async (l, [, mech = '', initial]) => {
        login.push(l, ...(await readSasl(c, mech.toUpperCase(), initial, (text) => c.line(`+ ${text}`))));
        answer();
      },
      STAT: session,
      UIDL: session,
      LIST: session,
      QUIT: () => {
        c.line('+OK bye');
        c.end();
        return 'stop';
      },
    });
  };
}

export function smtpEcho(mechanisms: string[], at: EchoAt): Script {
  return async (c) => {
    c.line('220 echo ESMTP');
    const login: string[] = [];
    let recipients = 0;
    await serveCommands(c, {
      EHLO: () => {
        c.line('250-echo');
        c.line(`250 AUTH ${mechanisms.join(' ')}`);
      },
      AUTH: async (l, [, mech = '', initial]) => {
        login.push(l, ...(await readSasl(c, mech.toUpperCase(), initial, (text) => c.line(`334 ${text}`))));
        if (at === 'login') reply(c, '535 5.7.8', login);
        else c.line('235 2.7.0 ok');
      },
      MAIL: () => {
        recipients = 0;
        if (at === 'mail') reply(c, '550 5.7.1', login);
        else if (at === 'bye') {
          reply(c, '421 4.7.0', login);
          c.end();
          return 'stop';
        } else c.line('250 ok');
      },
      RCPT: () => {
        recipients++;
        if (at === 'rcpt' || (at === 'some-rcpt' && recipients === 1)) reply(c, at === 'rcpt' ? '451 4.7.1' : '550 5.1.1', login);
        else c.line('250 ok');
      },
      DATA: async () => {
        c.line('354 go ahead');
        while ((await c.readLine()) !== '.');
        if (at === 'data') reply(c, '554 5.7.1', login);
        else if (at === 'some-rcpt') reply(c, '250 2.0.0 queued', login);
        else c.line('250 2.0.0 queued');
      },
      ...smtpHousekeeping(c),
    });
  };
}
