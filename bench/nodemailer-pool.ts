// The library's ceiling for the sending benchmark: a bare loop handing every message file to one pooled
// nodemailer SMTPS connection (the same transport mailbox's sender uses), nothing else.
// Run as its own process: node nodemailer-pool.js LIST_FILE, settings in BENCH_SMTP (JSON).
import fs from 'node:fs/promises';
import nodemailer from 'nodemailer';

interface Settings {
  host: string;
  port: number;
  user: string;
  pass: string;
  ca: string;
  from: string;
  to: string;
}

const settings = JSON.parse(process.env.BENCH_SMTP ?? '{}') as Settings;
const files = (await fs.readFile(process.argv[2]!, 'utf8')).split('\n').filter(Boolean);
const transport = nodemailer.createTransport({
  host: settings.host,
  port: settings.port,
  secure: true,
  auth: { user: settings.user, pass: settings.pass },
  tls: { ca: await fs.readFile(settings.ca) },
  pool: true,
  maxConnections: 1,
  maxMessages: Infinity,
});
let failed = 0;
let next = 0;
// A few messages in flight keep the one connection busy (the next is queued while one is sent) without
// opening thousands of files at once.
async function worker(): Promise<void> {
  while (next < files.length) {
    const file = files[next++]!;
    try {
      await transport.sendMail({ envelope: { from: settings.from, to: [settings.to] }, raw: await fs.readFile(file) });
    } catch (err) {
      if (++failed <= 3) process.stderr.write(`${(err as Error).message}\n`);
    }
  }
}
await Promise.all(Array.from({ length: 8 }, worker));
transport.close();
process.exitCode = failed ? 1 : 0;
