/**
 * A bulk run into a real Postfix (the test helper: its own config and queue, loopback): one members
 * file of N invoices dropped into a running gateway, each mailed as a PDF over plain SMTP. Postfix
 * accepts every mail into its queue and throws it away there (a discard transport), so what is
 * measured is the gateway handing mail to an MTA, not the disk of a mail store. Prints mails/s from the
 * drop to the last mail Postfix queued (its cleanup log line, which names our Message-ID).
 *   node dist/bench/postfix-mail.js [invoices]
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startPostfix } from '../test/helpers/postfix.js';
import { mailRun } from './support.js';

const invoices = Number(process.argv[2] ?? 1000);

const postfix = await startPostfix({ domains: [], mailboxes: {}, discard: ['example.nl', 'tvdelobbers.nl'] });
const gateway = mailRun(
  'postfix-mail',
  {
    kind: 'smtp',
    host: '127.0.0.1',
    port: postfix.port,
    secure: false,
    from: 'TV De Lobbers <penningmeester@tvdelobbers.nl>',
    bcc: 'archief@tvdelobbers.nl',
    tlsRejectUnauthorized: false,
    maxConnections: 4,
  },
  invoices,
);
const root = gateway.root;
const child = await gateway.start();

/** The Message-ID of each mail Postfix took into its queue. */
function queued(): string[] {
  return [...postfix.log().matchAll(/ postfix\/cleanup\[\d+\]: \w+: message-id=(<[^>]+>)$/gm)].map((m) => m[1]!);
}

const dropAt = gateway.drop();
let mails = queued();
while (mails.length < invoices) {
  if (Date.now() - dropAt > 900_000) throw new Error(`timeout: ${mails.length} of ${invoices} mails`);
  if (child.exitCode !== null) throw new Error(`the gateway stopped; see ${join(root, 'data', 'gateway.log')}`);
  await new Promise((r) => setTimeout(r, 200));
  mails = queued();
}
// the log has whole seconds: the last mail counts from when the count was first complete (200 ms at most late)
const lastAt = Date.now();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await postfix.stop();
rmSync(root, { recursive: true, force: true });
const seconds = (lastAt - dropAt) / 1000;
process.stdout.write(`${JSON.stringify({ invoices, mails: mails.length, distinct: new Set(mails).size, seconds, mailsPerSecond: invoices / seconds })}\n`);
