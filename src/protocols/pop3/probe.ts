// The POP3 probe, on the project's POP3 client, logging in with the mechanism the reader uses.
import { socketTlsOptions } from '../net/trust.js';
import { openProbeSocket, plainGreeting, plaintextLoginWarning, tlsStage, type ProbeContext } from '../probe/transport.js';
import { Pop3Client } from './client.js';
import type { ProtocolError } from '../errors.js';
import { choosePop3Mechanism, pop3Login, pop3MechanismName, pop3MechanismsOffered, pop3Offered, type Pop3Mechanism } from './login.js';

/** A probe must not outlive its deadline (the signal), however long a single command may take. */
const NO_COMMAND_TIMEOUT_MS = 24 * 3600_000;

export async function probePop3(ctx: ProbeContext): Promise<void> {
  const { account, recorder, peer } = ctx;
  const { socket, release } = await openProbeSocket(ctx);
  const client = new Pop3Client(socket, peer, { signal: ctx.signal, tap: ctx.tap, timeoutMs: NO_COMMAND_TIMEOUT_MS });
  try {
    await recorder.run('greeting', async () => {
      const banner = await plainGreeting(ctx, client.readGreeting());
      return { value: banner, detail: banner, data: { banner, apop: /<[^>]+>/.test(banner) } };
    });
    if (account.security === 'starttls') {
      await tlsStage(ctx, async () => {
        const caps = await client.capa();
        if (!caps.has('STLS')) throw peer.startTlsNotOffered('STLS');
        // tlsStage judges and describes the certificate before anything else is sent.
        return client.stls(socketTlsOptions(ctx.plan, account.host));
      });
    }
    const caps = await recorder.run('capabilities', async () => {
      const map = await client.capa();
      const mechanisms = pop3MechanismsOffered(map);
      const list = [...map.entries()].map(([k, v]) => [k, ...v].join(' '));
      // A mechanism the server does not offer fails at the login stage, as for IMAP and SMTP.
      let mechanism: Pop3Mechanism | ProtocolError;
      try {
        mechanism = choosePop3Mechanism(account, map);
      } catch (err) {
        mechanism = err as ProtocolError;
      }
      const using = typeof mechanism === 'string' ? pop3MechanismName(mechanism) : 'none the account can use';
      const offered = pop3Offered(map);
      if (offered) {
        const warning = plaintextLoginWarning(account, offered);
        if (warning) recorder.warn(warning);
      }
      return {
        value: { map, mechanism, using },
        detail: `${list.join(', ') || 'no CAPA (RFC 1939 server)'}; mechanisms offered: ${mechanisms.join(' ') || 'USER/PASS only'}; will use ${using}`,
        data: { capabilities: list, mechanisms, configured: using },
      };
    });
    await recorder.run('login', async () => {
      if (typeof caps.mechanism !== 'string') throw caps.mechanism;
      const secret = await ctx.secret();
      const user = account.user ?? '';
      await pop3Login(client, caps.mechanism, user, secret, { insisted: account.authMechanism !== undefined });
      return { value: undefined, detail: `logged in as ${user} (${caps.using})`, data: { user, mechanism: caps.using } };
    });
    await statStage(ctx, client, caps.map.has('UIDL'));
  } finally {
    client.close();
    release();
  }
}

/** STAT, and UIDL of the first message: mailbox needs UIDL to tell messages apart between sessions. */
async function statStage(ctx: ProbeContext, client: Pop3Client, uidlAnnounced: boolean): Promise<void> {
  const { account, peer, recorder } = ctx;
  await recorder.run('probe', async () => {
    const stat = await client.stat();
    let uidl: 'yes' | 'no' | 'unknown' = uidlAnnounced ? 'yes' : 'unknown';
    if (stat.count > 0) {
      uidl = await client.uidlOne(1).then(
        () => 'yes' as const,
        (err: unknown) => {
          if ((err as { code?: string }).code === 'EPROTOCOL') return 'no' as const;
          throw err;
        },
      );
    }
    await client.quit();
    if (uidl === 'no') {
      throw peer.fail({
        code: 'EPROTOCOL',
        message: `account ${account.name}: the server does not support UIDL`,
        hint: 'mailbox needs UIDL to recognise messages it already fetched; this server cannot be read safely',
      });
    }
    return {
      value: undefined,
      detail: `${stat.count} messages, ${stat.size} bytes; UIDL ${uidl === 'yes' ? 'supported' : 'not announced (mailbox empty, not checked)'}`,
      data: { messages: stat.count, size: stat.size, uidl },
    };
  });
}
