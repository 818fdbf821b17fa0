/**
 * A bulk run end to end: one members file of N invoices dropped into a running gateway (child process),
 * each invoice numbered, rendered as PDF and mailed to a real SMTP server on loopback with no rate limit.
 * Prints mails/s from the drop to the last mail accepted, and the gateway's peak RSS.
 *   node dist/bench/bulk-mail.js [invoices]
 */
import { readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { mailRun } from './support.js';

const invoices = Number(process.argv[2] ?? 2000);

// A real SMTP server that keeps only what the bench counts: Message-ID, recipient and size, and
// whether a PDF is attached (parsing every mail fully would take the gateway's CPU on a 2-core machine).
const received = new Map<string, { to: string; bytes: number; pdf: boolean }>();
let repeats = 0;
let lastAt = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  size: 20 * 1024 * 1024,
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      const id = /^Message-ID:\s*(\S+)/im.exec(raw)?.[1] ?? `none-${received.size}`;
      const to = session.envelope.rcptTo
        .map((r) => r.address)
        .filter((a) => !a.startsWith('archief@'))
        .join(',');
      if (received.has(id)) repeats++;
      received.set(id, { to, bytes: raw.length, pdf: /Content-Type: application\/pdf/i.test(raw) });
      lastAt = Date.now();
      callback();
    });
  },
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.server.address() as AddressInfo).port;

// no messagesPerMinute: the run goes as fast as the gateway can render and the server can take
const gateway = mailRun(
  'bulk-mail',
  {
    kind: 'smtp',
    host: '127.0.0.1',
    port,
    secure: false,
    from: 'TV De Lobbers <penningmeester@tvdelobbers.nl>',
    tlsRejectUnauthorized: false,
    maxConnections: 4,
  },
  invoices,
);
const root = gateway.root;
const child = await gateway.start();

/** The gateway's peak resident memory so far (VmHWM), in MB. */
function childPeakRssMb(): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf-8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

const dropAt = gateway.drop();
const firstMailAt = await (async () => {
  while (received.size === 0) await new Promise((r) => setTimeout(r, 5));
  return Date.now();
})();
while (received.size < invoices) {
  if (Date.now() - dropAt > 900_000) throw new Error(`timeout: ${received.size} of ${invoices} mails`);
  if (child.exitCode !== null) throw new Error(`the gateway stopped; see ${join(root, 'data', 'gateway.log')}`);
  await new Promise((r) => setTimeout(r, 20));
}
const peakRssMb = childPeakRssMb();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await new Promise<void>((resolve) => server.close(() => resolve()));

const recipients = new Set([...received.values()].map((m) => m.to));
const seconds = (lastAt - dropAt) / 1000;
rmSync(root, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({
    invoices,
    mails: received.size,
    distinctRecipients: recipients.size,
    repeats,
    withPdf: [...received.values()].filter((m) => m.pdf).length,
    seconds,
    mailsPerSecond: invoices / seconds,
    firstMailAfterSeconds: (firstMailAt - dropAt) / 1000,
    averageMailKb: [...received.values()].reduce((s, m) => s + m.bytes, 0) / received.size / 1024,
    peakRssMb,
  })}\n`,
);
