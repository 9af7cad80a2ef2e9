// The SASL clients against the RFCs' own examples, and the driver against servers that misbehave.
import { describe, expect, it } from 'vitest';
import { runSasl, saslClient, SaslRunaway, scramSha256 } from '../../src/protocols/sasl.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const text = (s: string) => Buffer.from(s, 'base64').toString('utf8');
const login = { user: 'user', secret: 'pencil', host: 'h', port: 1 };

describe('SCRAM-SHA-256 (RFC 7677 section 3)', () => {
  const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';

  it('the client messages of the RFC, and the server proven by its signature', async () => {
    const scram = scramSha256('user', 'pencil', 'rOprNGfwEbeRWgbNEkqO');
    expect(text((await scram.initial())!)).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    expect(text(await scram.answer(b64(serverFirst)))).toBe('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    expect(scram.distrust()).toMatch(/without proving/);
    expect(await scram.answer(b64('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='))).toBe('');
    expect(scram.distrust()).toBeUndefined();
  });

  it('a wrong server signature is distrusted', async () => {
    const scram = scramSha256('user', 'pencil', 'rOprNGfwEbeRWgbNEkqO');
    await scram.answer(b64(serverFirst));
    await scram.answer(b64('v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='));
    expect(scram.distrust()).toMatch(/signature was missing or wrong/);
  });

  it('a server that does not extend our nonce, or asks for too little or absurd work, gets no proof', async () => {
    for (const bad of ['r=someone-else,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096', 'r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1', 'r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999']) {
      const scram = scramSha256('user', 'pencil', 'rOprNGfwEbeRWgbNEkqO');
      expect(await scram.answer(b64(bad)), bad).toBe('');
    }
  });

  it('escapes "=" and "," in the user name', async () => {
    expect(text((await scramSha256('a=b,c', 'p', 'n0nce').initial())!)).toBe('n,,n=a=3Db=2Cc,r=n0nce');
  });
});

describe('CRAM-MD5 (RFC 2195 section 2)', () => {
  it('answers the example challenge', async () => {
    const cram = saslClient('CRAM-MD5', { ...login, user: 'tim', secret: 'tanstaaftanstaaf' });
    expect(await cram.initial()).toBeUndefined();
    expect(text(await cram.answer(b64('<1896.697170952@postoffice.reston.mci.net>')))).toBe('tim b913a602c7eda7a495b4e6e7334d3890');
  });
});

describe('runSasl', () => {
  it('an initial response the command cannot carry goes at the first challenge; LOGIN answers in turn; then empty answers', async () => {
    const sent: string[] = [];
    const carrier = (inline: boolean, challenges: number) => {
      let left = challenges;
      return {
        start: async (initial: string | undefined) => (sent.push(`START ${initial ?? '-'}`), left-- > 0 ? 'challenge' : 'done'),
        respond: async (answer: string) => (sent.push(answer || '(empty)'), left-- > 0 ? 'challenge' : 'done'),
        challenge: (reply: string) => (reply === 'challenge' ? '' : undefined),
        inline: () => inline,
        succeeded: (reply: string) => reply === 'done',
      };
    };
    await runSasl(saslClient('PLAIN', login), carrier(false, 1));
    await runSasl(saslClient('LOGIN', login), carrier(true, 3));
    expect(sent).toEqual(['START -', b64('\0user\0pencil'), 'START -', b64('user'), b64('pencil'), '(empty)']);
  });

  it('a server that never stops challenging is stopped', async () => {
    const endless = { start: async () => 'more', respond: async () => 'more', challenge: () => '', inline: () => true, succeeded: () => false };
    await expect(runSasl(saslClient('PLAIN', login), endless)).rejects.toBeInstanceOf(SaslRunaway);
  });
});
