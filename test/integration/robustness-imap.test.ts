// The IMAP probe (`mailbox test`) against a scripted server: greetings Dovecot never sends (PREAUTH,
// BYE, [ALERT]), capabilities only on request, literals and untagged data in the middle of replies,
// AUTHENTICATE by continuation, LOGINDISABLED, and hostile behaviour.
import { describe, expect, it } from 'vitest';
import { serveCommands, type ScriptConn, type ScriptedServer } from '../harness/scripted-server.js';
import { expectProbeFailure, expectProbeOk, probe, scriptedAccount, scriptedServers, SECRET } from '../helpers/robustness.js';

const serve = scriptedServers();
const account = (srv: ScriptedServer, over: Parameters<typeof scriptedAccount>[2] = {}) => scriptedAccount(srv, 'imap', over);

interface ImapScript {
  greeting?: string;
  /** The CAPABILITY list (without "* CAPABILITY"). */
  caps?: string;
  /** Lines sent before the tagged reply of each command, by command name. */
  untagged?: Record<string, string[]>;
  /** Tagged reply text of LOGIN/AUTHENTICATE. */
  login?: string;
}

/** A small IMAP server: CAPABILITY, LOGIN, AUTHENTICATE PLAIN (by continuation), EXAMINE, LOGOUT. */
function imap(s: ImapScript) {
  return async (c: ScriptConn) => {
    const extra = (cmd: string) => (s.untagged?.[cmd] ?? []).forEach((l) => c.write(l.endsWith('\n') ? l : `${l}\r\n`));
    c.line(s.greeting ?? '* OK ready');
    await serveCommands(
      c,
      {
        CAPABILITY: (_l, [tag]) => {
          extra('CAPABILITY');
          c.line(`* CAPABILITY ${s.caps ?? 'IMAP4rev1'}`);
          c.line(`${tag} OK done`);
        },
        LOGIN: (_l, [tag]) => {
          extra('LOGIN');
          c.line(`${tag} ${s.login ?? 'OK logged in'}`);
        },
        AUTHENTICATE: async (_l, [tag]) => {
          c.line('+ ');
          await c.expect(/^[A-Za-z0-9+/=]+$/);
          extra('AUTHENTICATE');
          c.line(`${tag} ${s.login ?? 'OK authenticated'}`);
        },
        EXAMINE: (_l, [tag]) => {
          extra('EXAMINE');
          c.line('* 3 EXISTS');
          c.line('* OK [UIDVALIDITY 42] ok');
          c.line('* OK [UIDNEXT 7] ok');
          c.line(`${tag} OK [READ-ONLY] done`);
        },
        LOGOUT: (_l, [tag]) => {
          c.line('* BYE bye');
          c.line(`${tag} OK done`);
          c.end();
          return 'stop';
        },
      },
      1,
    );
  };
}

function stage(result: Awaited<ReturnType<typeof probe>>, name: string) {
  return result.stages.find((s) => s.name === name);
}

describe('IMAP: RFC-legal but unusual servers', () => {
  it('capabilities only on request, untagged data interleaved, AUTHENTICATE PLAIN by continuation (no SASL-IR)', async () => {
    const srv = await serve(
      imap({
        caps: 'IMAP4rev1 AUTH=PLAIN  ID',
        untagged: {
          CAPABILITY: ['* 1 EXISTS', '* OK [ALERT] System maintenance at 22:00'],
          AUTHENTICATE: ['* CAPABILITY IMAP4rev1 IDLE', '* 1 RECENT'],
          EXAMINE: ['* FLAGS (\\Seen \\Answered)', '* 2 FETCH (FLAGS (\\Seen))'],
        },
      }),
    );
    const result = expectProbeOk(await probe(account(srv)));
    expect(stage(result, 'login')!.detail).toContain('AUTHENTICATE PLAIN');
    expect(stage(result, 'probe')!.detail).toBe('INBOX: 3 messages, UIDVALIDITY 42, UIDNEXT 7');
    // RFC 3501 7.1: the client MUST show [ALERT] text to the user.
    expect(result.warnings.join('\n')).toContain('System maintenance at 22:00');
  });

  it('literals inside untagged responses are read as data, even when they hold a line that looks like our completion', async () => {
    const srv = await serve(async (c) => {
      c.line('* OK [CAPABILITY IMAP4rev1] hi');
      await serveCommands(
        c,
        {
          LOGIN: (_l, [tag]) => c.line(`${tag} OK in`),
          EXAMINE: (_l, [tag]) => {
            const trap = `${tag} OK fake completion\r\n* 999 EXISTS\r\n`;
            c.write(`* 1 FETCH (BODY[HEADER] {${Buffer.byteLength(trap)}}\r\n${trap} FLAGS ())\r\n`);
            c.write(`* LIST () "/" {5+}\r\nINBOX\r\n`);
            c.line('* 5 EXISTS');
            c.line(`${tag} OK done`);
          },
          LOGOUT: (_l, [tag]) => (c.line(`${tag} OK`), 'stop'),
        },
        1,
      );
    });
    const result = expectProbeOk(await probe(account(srv)));
    expect(stage(result, 'probe')!.detail).toContain('5 messages');
  });

  it('PREAUTH greeting: no login is sent, the probe still opens the folder', async () => {
    const srv = await serve(imap({ greeting: '* PREAUTH [CAPABILITY IMAP4rev1] welcome back' }));
    const result = expectProbeOk(await probe(account(srv)));
    expect(stage(result, 'login')!.detail).toMatch(/PREAUTH/);
    expect(srv.received().some((l) => /LOGIN|AUTHENTICATE/i.test(l))).toBe(false);
  });

  it('PREAUTH on a connection configured for STARTTLS: refused (STARTTLS is impossible once authenticated), 76', async () => {
    const srv = await serve(imap({ greeting: '* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] hi' }));
    const err = expectProbeFailure(await probe(account(srv, { security: 'starttls' })), 76, 'tls');
    expect(err.message).toMatch(/PREAUTH/);
    expect(err.code).toBe('ETLS');
  });

  it('BYE greeting: the server refuses us (69); with [UNAVAILABLE] it is temporary (75)', async () => {
    const bye = await serve(async (c) => {
      c.line('* BYE not accepting connections from your network');
      c.end();
    });
    const busy = await serve(async (c) => {
      c.line('* BYE [UNAVAILABLE] too many connections');
      c.end();
    });
    expect(expectProbeFailure(await probe(account(bye)), 69, 'greeting').message).toContain('not accepting connections');
    expect(expectProbeFailure(await probe(account(busy)), 75, 'greeting').code).toBe('ETEMPFAIL');
  });

  it('LOGINDISABLED without AUTH=PLAIN: no LOGIN is sent, 77 with a TLS hint', async () => {
    const srv = await serve(imap({ caps: 'IMAP4rev1 LOGINDISABLED STARTTLS' }));
    const err = expectProbeFailure(await probe(account(srv)), 77, 'login');
    expect(err.hint).toMatch(/TLS/);
    expect(srv.received().some((l) => /LOGIN "/.test(l))).toBe(false);
  });

  it('LOGIN refused with a reply that quotes the password: 77, and the password is not in the message', async () => {
    const srv = await serve(async (c) => {
      c.line('* OK [CAPABILITY IMAP4rev1] hi');
      // The UTF-8 password makes the client send both values as synchronising literals.
      const login = await c.expect(/^P\d+ LOGIN \{\d+\}$/);
      c.line('+ go on');
      await c.expect(/^alice \{\d+\}$/);
      c.line('+ go on');
      const password = await c.readLine();
      c.write(Buffer.concat([Buffer.from(`${login.split(' ')[0]} NO [AUTHENTICATIONFAILED] rejected alice `), Buffer.from(password, 'latin1'), Buffer.from('\r\n')]));
      await c.untilClosed();
    });
    expect(expectProbeFailure(await probe(account(srv)), 77, 'login').message).toContain('rejected alice <redacted>');
  });
});

describe('IMAP: hostile servers', () => {
  it('garbage lines in the middle of a reply: EPROTOCOL (76)', async () => {
    const srv = await serve(async (c) => {
      c.line('* OK hi');
      await c.expect(/CAPABILITY/);
      c.line('<html><body>proxy error</body></html>');
      await c.untilClosed();
    });
    expectProbeFailure(await probe(account(srv)), 76, 'capabilities');
  });

  it('a completion for a command not sent yet (desynchronised): EPROTOCOL, not a false success', async () => {
    const srv = await serve(async (c) => {
      c.line('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi');
      const auth = await c.expect(/AUTHENTICATE/);
      const tag = auth.split(' ')[0]!;
      const next = `${tag.replace(/\d+$/, '')}${Number(/\d+$/.exec(tag)![0]) + 1}`;
      c.line(`${next} OK [READ-ONLY] examined in advance`);
      c.line(`${tag} OK in`);
      await c.untilClosed();
    });
    const err = expectProbeFailure(await probe(account(srv)), 76, 'login');
    expect(err.code).toBe('EPROTOCOL');
  });

  it('an endless line: EPROTOCOL after 64 KB, the connection is dropped', async () => {
    let written = 0;
    const srv = await serve(async (c) => {
      c.write('* OK ');
      written = await c.flood('x'.repeat(16 * 1024));
    });
    expectProbeFailure(await probe(account(srv)), 76, 'greeting');
    await srv.settled();
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('endless untagged responses while we wait for a completion: EPROTOCOL, memory bounded', async () => {
    let written = 0;
    const srv = await serve(async (c) => {
      c.line('* OK [CAPABILITY IMAP4rev1] hi');
      await c.expect(/LOGIN/);
      written = await c.flood('* 1 EXISTS\r\n'.repeat(4096));
    });
    expectProbeFailure(await probe(account(srv)), 76, 'login');
    await srv.settled();
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('an endless literal: EPROTOCOL, not buffered whole', async () => {
    const srv = await serve(async (c) => {
      c.line('* OK [CAPABILITY IMAP4rev1] hi');
      await c.expect(/LOGIN/);
      c.write('* 1 FETCH (BODY[] {4000000000}\r\n');
      await c.flood('y'.repeat(64 * 1024));
    });
    expectProbeFailure(await probe(account(srv)), 76, 'login');
    await srv.settled();
  });

  it('closes in the middle of the EXAMINE reply: 76 at the probe stage', async () => {
    const srv = await serve(async (c) => {
      c.line('* OK [CAPABILITY IMAP4rev1] hi');
      const login = await c.expect(/LOGIN/);
      c.line(`${login.split(' ')[0]} OK in`);
      await c.expect(/EXAMINE/);
      c.write('* 3 EXI');
      c.end();
    });
    const err = expectProbeFailure(await probe(account(srv)), 76, 'probe');
    expect(err.message).toMatch(/closed/);
  });

  it('BYE in the middle of a session: 76 naming the server text; with [UNAVAILABLE] 75', async () => {
    for (const [bye, exit] of [
      ['* BYE shutting down', 76],
      ['* BYE [UNAVAILABLE] shutting down', 75],
    ] as const) {
      const srv = await serve(async (c) => {
        c.line('* OK [CAPABILITY IMAP4rev1] hi');
        await c.expect(/LOGIN/);
        c.line(bye);
        c.end();
      });
      expect(expectProbeFailure(await probe(account(srv)), exit, 'login').message).toContain('shutting down');
    }
  });

  it('stalls after LOGIN: 75 within the deadline, socket closed', async () => {
    const srv = await serve(async (c) => {
      c.line('* OK [CAPABILITY IMAP4rev1] hi');
      await c.expect(/LOGIN/);
      c.write('* 1 EXISTS\r\n');
      await c.untilClosed();
    });
    expectProbeFailure(await probe(account(srv), 400), 75, 'login');
    await srv.settled();
    expect(SECRET).toBeTruthy();
  });
});
