// The browser flow: authorization code with PKCE S256 (RFC 7636) and a loopback redirect on
// 127.0.0.1 (RFC 8252 7.3: a random port unless the profile fixes one). The authorization URL is
// shown (and opened where a browser can be); the code comes back either to the loopback listener or,
// on a machine without a browser, as the redirected URL pasted on the terminal (the browser elsewhere
// shows an error page for 127.0.0.1, whose address bar holds the code). `state` is checked either way.
import http from 'node:http';
import type net from 'node:net';
import { MailboxError } from '../../core/errors.js';
import { configuration, tokenResult, type OAuthClient, type TokenResult } from './client.js';
import { oauthFailure } from './failures.js';

export interface BrowserFlowOptions {
  scopes: readonly string[];
  account: string;
  /** The loopback port; 0 or absent: any free one. */
  port?: number;
  /** Extra parameters of the authorization request. */
  params?: Record<string, string>;
  /** Shows the URL (always) and opens it in a browser (where the caller can and may). */
  show: (url: string, redirectUri: string) => void;
  /** Lines typed on the terminal: a pasted redirect URL is taken from them. */
  pasted?: AsyncIterable<string>;
  timeoutMs?: number;
  now: () => number;
}

const PAGE = (text: string) =>
  `<!doctype html><meta charset="utf-8"><title>mailbox</title><body style="font-family:sans-serif;margin:3em"><p>${text}</p></body>`;

/** The listener on 127.0.0.1; resolves with the URL of the first request that carries `code` or `error`. */
function listen(port: number): Promise<{ redirectUri: string; received: Promise<URL>; close: () => void }> {
  return new Promise((resolve, reject) => {
    let deliver: (url: URL) => void;
    const received = new Promise<URL>((r) => (deliver = r));
    const server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
      if (url.pathname !== '/' || (!url.searchParams.has('code') && !url.searchParams.has('error'))) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      const ok = url.searchParams.has('code');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', connection: 'close' });
      res.end(PAGE(ok ? 'mailbox received the authorization. You can close this tab and go back to the terminal.' : 'The authorization was not granted. See the terminal for what happened.'));
      deliver(url);
    });
    server.once('error', (err) => reject(err));
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as net.AddressInfo).port;
      resolve({
        redirectUri: `http://127.0.0.1:${bound}/`,
        received,
        close: () => {
          server.close();
          server.closeAllConnections();
        },
      });
    });
  });
}

/** The first pasted line that is a redirect to our URI. */
async function firstPasted(lines: AsyncIterable<string> | undefined, redirectUri: string, stop: AbortSignal): Promise<URL> {
  if (lines) {
    for await (const line of lines) {
      if (stop.aborted) break;
      const text = line.trim();
      if (!text) continue;
      try {
        const url = new URL(text);
        if (`${url.origin}/` === redirectUri || url.href.startsWith(redirectUri)) return url;
      } catch {
        /* not a URL: keep listening */
      }
    }
  }
  return new Promise<URL>(() => undefined); // nothing pasted: the listener decides
}

export async function browserFlow(client: OAuthClient, options: BrowserFlowOptions): Promise<TokenResult> {
  const { oidc, config } = await configuration(client);
  const what = `the browser authorization of account ${options.account}`;
  let loopback: Awaited<ReturnType<typeof listen>>;
  try {
    loopback = await listen(options.port ?? 0);
  } catch (err) {
    throw new MailboxError('EIO', `${what}: cannot listen on 127.0.0.1:${options.port ?? 0} for the redirect (${(err as Error).message})`, {
      account: options.account,
      hint: 'another program holds that port: free it, or give the profile another --redirect-port (registered with the app)',
    });
  }
  const done = new AbortController();
  const timeout = options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined;
  try {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: loopback.redirectUri,
      response_type: 'code',
      scope: options.scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      ...options.params,
    });
    options.show(url.href, loopback.redirectUri);
    const timedOut = new Promise<never>((_, reject) => {
      timeout?.addEventListener('abort', () =>
        reject(new MailboxError('ETIMEDOUT', `${what} was not completed within ${Math.round(options.timeoutMs! / 1000)} s`, { account: options.account, hint: 'run mailbox authorize again and approve in time (or give a longer --timeout)' })),
      );
    });
    const redirect = await Promise.race([loopback.received, firstPasted(options.pasted, loopback.redirectUri, done.signal), timedOut]);
    const error = redirect.searchParams.get('error');
    if (error) {
      const description = redirect.searchParams.get('error_description')?.split(/\r?\n/)[0];
      if (error === 'access_denied') throw new MailboxError('EAUTH', `${what} was denied${description ? ` (${description})` : ''}`, { account: options.account, hint: 'nothing was stored; run mailbox authorize again and approve the request' });
      throw oauthFailure({ error, error_description: description }, what, options.account);
    }
    if (redirect.searchParams.get('state') !== state) {
      throw new MailboxError('EAUTH', `${what}: the redirect carried another state than the one sent (a stale or forged redirect); nothing was stored`, { account: options.account, hint: 'run mailbox authorize again and use the URL it prints now' });
    }
    try {
      const response = await oidc.authorizationCodeGrant(config, redirect, { pkceCodeVerifier: verifier, expectedState: state });
      return tokenResult(response, options.now());
    } catch (err) {
      throw oauthFailure(err, what, options.account);
    }
  } finally {
    done.abort();
    loopback.close();
  }
}
