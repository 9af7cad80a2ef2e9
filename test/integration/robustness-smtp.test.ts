// The SMTP probe (`mailbox test`) against a scripted server: multi-line greetings and EHLO replies,
// old-style AUTH=, EHLO refused (HELO fallback), 421/554 greetings, STARTTLS 454, and hostile
// behaviour (garbage, early replies, endless replies, stalls, closes).
import { describe, expect, it } from 'vitest';
import { serveCommands, type ScriptConn, type ScriptedServer } from '../harness/scripted-server.js';
import { expectProbeFailure, expectProbeOk, probe, scriptedAccount, scriptedServers, SECRET } from '../helpers/robustness.js';

const serve = scriptedServers();
const account = (srv: ScriptedServer, over: Parameters<typeof scriptedAccount>[2] = {}) => scriptedAccount(srv, 'smtp', over);

interface SmtpScript {
  greeting?: string[];
  /** Full EHLO reply lines; null answers 502 (a HELO-only server). */
  ehlo?: string[] | null;
  starttls?: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A small SMTP server: EHLO/HELO, AUTH PLAIN and LOGIN (accepting alice + SECRET), STARTTLS reply, QUIT. */
function smtp(s: SmtpScript) {
  return async (c: ScriptConn) => {
    for (const l of s.greeting ?? ['220 mail.example ESMTP']) c.line(l);
    await serveCommands(c, {
      EHLO: () => {
        if (s.ehlo === null) return c.line('502 5.5.1 command not implemented');
        for (const l of s.ehlo ?? ['250-mail.example', '250 AUTH PLAIN']) c.line(l);
      },
      HELO: () => c.line('250 mail.example'),
      AUTH: async (_l, [, mech, initial]) => {
        if (mech!.toUpperCase() === 'LOGIN') {
          c.line(`334 ${b64('Username:')}`);
          const user = await c.readLine();
          c.line(`334 ${b64('Password:')}`);
          const pass = await c.readLine();
          return c.line(user === b64('alice') && pass === b64(SECRET) ? '235 2.7.0 ok' : '535 5.7.8 no');
        }
        c.line(initial === b64(`\0alice\0${SECRET}`) ? '235 2.7.0 ok' : '535 5.7.8 no');
      },
      STARTTLS: () => c.line(s.starttls ?? '454 4.7.0 TLS not available due to temporary reason'),
      QUIT: () => {
        c.line('221 bye');
        c.end();
        return 'stop';
      },
    });
  };
}

function stage(result: Awaited<ReturnType<typeof probe>>, name: string) {
  return result.stages.find((s) => s.name === name);
}

describe('SMTP: RFC-legal but unusual servers', () => {
  it('multi-line 220 greeting, EHLO lines with odd case and spacing, old-style AUTH=LOGIN only: AUTH LOGIN is used', async () => {
    const srv = await serve(
      smtp({
        greeting: ['220-mail.example ESMTP', '220-no UCE', '220 at all'],
        ehlo: ['250-mail.example hello', '250-PIPELINING', '250-size   10240000', '250-AUTH=LOGIN', '250-8BITMIME', '250 ENHANCEDSTATUSCODES'],
      }),
    );
    const result = expectProbeOk(await probe(account(srv)));
    expect(stage(result, 'greeting')!.detail).toContain('at all');
    expect(stage(result, 'capabilities')!.detail).toContain('will use LOGIN');
    expect(stage(result, 'probe')!.detail).toContain('10240000');
    expect(srv.received()).toContain('AUTH LOGIN');
  });

  it('AUTH advertised both ways (AUTH=LOGIN and AUTH PLAIN LOGIN): PLAIN is used; a bare "250" last line is fine', async () => {
    const srv = await serve(smtp({ ehlo: ['250-mail.example', '250-AUTH=LOGIN', '250-AUTH LOGIN PLAIN', '250'] }));
    const result = expectProbeOk(await probe(account(srv)));
    expect(stage(result, 'login')!.detail).toContain('PLAIN');
  });

  it('EHLO refused: falls back to HELO; an account without authentication passes, one with a password gets 77', async () => {
    const srv = await serve(smtp({ ehlo: null }));
    const result = expectProbeOk(await probe(account(srv, { auth: 'none', user: undefined })));
    expect(stage(result, 'capabilities')!.detail).toMatch(/HELO/);
    const err = expectProbeFailure(await probe(account(srv)), 77, 'login');
    expect(err.message).toMatch(/does not offer AUTH/);
  });

  it('421 greeting is temporary (75); 554 greeting is a refusal (69)', async () => {
    const busy = await serve(smtp({ greeting: ['421-mail.example busy', '421 4.3.2 try again later'] }));
    const refused = await serve(smtp({ greeting: ['554 5.7.1 no SMTP service here'] }));
    expect(expectProbeFailure(await probe(account(busy)), 75, 'greeting').message).toContain('try again later');
    expect(expectProbeFailure(await probe(account(refused)), 69, 'greeting').message).toContain('no SMTP service here');
  });

  it('STARTTLS answered 454: temporary (75), nothing sent in plaintext after it; 502 is a TLS failure (76)', async () => {
    const ehlo = ['250-mail.example', '250-STARTTLS', '250 AUTH PLAIN'];
    const later = await serve(smtp({ ehlo }));
    const never = await serve(smtp({ ehlo, starttls: '502 5.5.1 not now, not ever' }));
    expectProbeFailure(await probe(account(later, { security: 'starttls' })), 75, 'tls');
    expect(later.received().some((l) => l.startsWith('AUTH'))).toBe(false);
    expect(expectProbeFailure(await probe(account(never, { security: 'starttls' })), 76, 'tls').code).toBe('ETLS');
  });

  it('421 in answer to AUTH (server shutting down): 75', async () => {
    const srv = await serve(async (c) => {
      c.line('220 hi');
      await c.expect(/^EHLO /);
      c.line('250-hi');
      c.line('250 AUTH PLAIN');
      await c.expect(/^AUTH PLAIN /);
      c.line('421 4.3.2 shutting down');
      c.end();
    });
    expectProbeFailure(await probe(account(srv)), 75, 'login');
  });

  it('a refusal that echoes the AUTH payload does not put it in the message', async () => {
    const srv = await serve(async (c) => {
      c.line('220 hi');
      await c.expect(/^EHLO /);
      c.line('250-hi');
      c.line('250 AUTH PLAIN');
      const auth = await c.expect(/^AUTH PLAIN /);
      c.line(`535 5.7.8 rejected ${auth.slice(11)}`);
      await c.untilClosed();
    });
    expect(expectProbeFailure(await probe(account(srv)), 77, 'login').message).toContain('<redacted>');
  });
});

describe('SMTP: hostile servers', () => {
  it('garbage instead of a reply: 76', async () => {
    const srv = await serve(async (c) => {
      c.line('220 hi');
      await c.expect(/^EHLO /);
      c.line('SSH-2.0-OpenSSH_9.2');
      await c.untilClosed();
    });
    expectProbeFailure(await probe(account(srv)), 76, 'capabilities');
  });

  it('replies before the command (pipelining desync): 76, not a misread reply', async () => {
    const srv = await serve(async (c) => {
      c.write('220 hi\r\n250-early\r\n250 AUTH PLAIN\r\n235 2.7.0 pretend you logged in\r\n');
      await c.untilClosed();
    });
    const err = expectProbeFailure(await probe(account(srv)), 76, 'capabilities');
    expect(err.message).toMatch(/before|not asked|out of turn/);
  });

  it('an endless multi-line reply: 76, memory bounded', async () => {
    let written = 0;
    const srv = await serve(async (c) => {
      c.line('220 hi');
      await c.expect(/^EHLO /);
      written = await c.flood('250-X-FILLER\r\n'.repeat(4096));
    });
    expectProbeFailure(await probe(account(srv)), 76, 'capabilities');
    await srv.settled();
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('stalls in the middle of the EHLO reply: 75 within the deadline', async () => {
    const srv = await serve(async (c) => {
      c.line('220 hi');
      await c.expect(/^EHLO /);
      c.write('250-hi\r\n250-PIPE');
      await c.untilClosed();
    });
    expectProbeFailure(await probe(account(srv), 400), 75, 'capabilities');
    await srv.settled();
  });

  it('closes right after the greeting: 76 naming the close', async () => {
    const srv = await serve(async (c) => {
      c.line('220 hi');
      await c.expect(/^EHLO /);
      c.destroy();
    });
    expect(expectProbeFailure(await probe(account(srv)), 76, 'capabilities').message).toMatch(/closed|reset/i);
  });
});
