// SMTP test server, run as a child process by smtp.ts (own event loop, away from the code under test).
// Built on the `smtp-server` package: real ESMTP (PIPELINING, 8BITMIME, SMTPUTF8, SIZE, STARTTLS, AUTH).
// argv[2]: JSON config (see smtp.ts). Talks to the parent over IPC:
//   -> { type: 'ready', smtpPort, smtpsPort }     <- { type: 'greeting', delayMs: number | null (never) }
// Every accepted message: raw bytes (as received, after dot-unstuffing, CRLF kept) in dir/msg-N.eml,
// plus one JSON line in dir/messages.jsonl, both written BEFORE the 250 reply.
import fs from 'node:fs';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const cfg = JSON.parse(process.argv[2]);
let greetingDelay = cfg.greetingDelayMs; // null: never greet

// smtp-server waits a hard-coded 100 ms before the 220 greeting (to catch early talkers). Same body as
// SMTPConnection.prototype.init in 3.21.x with the delay made settable, and "never" possible.
SMTPConnection.prototype.init = function init() {
  this._setListeners(() => {
    if (this._server.options.maxClients && this._server.connections.size > this._server.options.maxClients) {
      return this.send(421, this.name + ' Too many connected clients, try again in a moment', false);
    }
    if (greetingDelay === null) return; // silent: for greeting-timeout tests
    setTimeout(() => this.connectionReady(), greetingDelay).unref();
  });
};

const jsonl = path.join(cfg.dir, 'messages.jsonl');
let seq = 0;

/** RFC 7662 introspection of an access token (cfg.introspect: the OAuth test server, https with its CA). */
async function introspect(token) {
  const { url, caFile } = cfg.introspect;
  const https = await import('node:https');
  const body = new URLSearchParams({ token }).toString();
  return new Promise((resolve) => {
    const req = https.request(url, { method: 'POST', ca: fs.readFileSync(caFile), headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(text));
        } catch {
          resolve({ active: false });
        }
      });
    });
    req.on('error', () => resolve({ active: false }));
    req.end(body);
  });
}

function onAuth(auth, session, cb) {
  if (auth.method === 'XOAUTH2' && cfg.introspect) {
    introspect(auth.accessToken).then((r) => {
      if (r.active && r.username === auth.username) return cb(null, { user: auth.username });
      cb(null, { data: { status: '401', schemes: 'bearer', scope: 'mail' } });
    });
    return;
  }
  const pw = cfg.users[auth.username];
  let ok = false;
  if (pw !== undefined) {
    if (auth.method === 'XOAUTH2') ok = auth.accessToken === `tok-${auth.username}`;
    else if (auth.method === 'CRAM-MD5') ok = auth.validatePassword(pw);
    else ok = auth.password === pw;
  }
  if (ok) return cb(null, { user: auth.username });
  if (auth.method === 'XOAUTH2') return cb(null, { data: { status: '401', schemes: 'bearer', scope: 'mail' } });
  cb(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
}

// Fault injection by recipient local part.
function onRcptTo(addr, session, cb) {
  const local = addr.address.split('@')[0].toLowerCase();
  if (local.startsWith('reject')) return cb(Object.assign(new Error('5.1.1 Recipient rejected (test)'), { responseCode: 550 }));
  if (local.startsWith('defer')) return cb(Object.assign(new Error('4.3.0 Try again later (test)'), { responseCode: 451 }));
  cb();
}

function onData(stream, session, cb) {
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  stream.on('end', () => {
    if (stream.sizeExceeded) return cb(Object.assign(new Error('5.3.4 Message too big'), { responseCode: 552 }));
    try {
      const raw = Buffer.concat(chunks);
      const file = path.join(cfg.dir, `msg-${++seq}.eml`);
      fs.writeFileSync(file, raw);
      const rec = {
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        to: session.envelope.rcptTo.map((r) => r.address),
        user: session.user ?? null,
        tls: !!session.secure,
        file,
      };
      fs.appendFileSync(jsonl, JSON.stringify(rec) + '\n');
      cb(null, `Queued as msg-${seq}`);
    } catch (e) {
      cb(Object.assign(new Error(`4.3.0 Storage failed: ${e.message}`), { responseCode: 451 }));
    }
  });
}

const common = {
  key: fs.readFileSync(cfg.keyFile),
  cert: fs.readFileSync(cfg.certFile),
  name: 'localhost',
  banner: 'mailbox test smtp',
  size: cfg.size,
  authMethods: cfg.authMethods,
  authOptional: cfg.authOptional,
  allowInsecureAuth: true,
  disableReverseLookup: true,
  logger: false,
  closeTimeout: 500,
  onAuth,
  onRcptTo,
  onData,
};
const servers = [
  // disabledCommands both hides STARTTLS from EHLO and refuses the command.
  new SMTPServer({ ...common, disabledCommands: cfg.noStarttls ? ['STARTTLS'] : [] }),
  new SMTPServer({ ...common, secure: true }),
];
for (const s of servers) s.on('error', (e) => process.stderr.write(`smtp server error: ${e.message}\n`));

const ports = await Promise.all(
  servers.map((s) => new Promise((resolve, reject) => {
    s.server.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s.server.address().port));
  })),
);

process.on('message', (m) => {
  if (m && m.type === 'greeting') {
    greetingDelay = m.delayMs;
    process.send({ type: 'greeting-set' });
  }
});
// The parent is gone: nobody will stop us, leave now. stop() sends SIGTERM: nothing to flush either.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
process.send({ type: 'ready', smtpPort: ports[0], smtpsPort: ports[1] });
