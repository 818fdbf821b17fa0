/**
 * Mail from a Microsoft 365 mailbox through Microsoft Graph (the local stub of Entra ID and Graph
 * from the tests, in this process): one members file of N invoices dropped into a running gateway,
 * each mailed as a PDF through a draft and its send. Prints mails/s from the drop to the last send.
 * With a pace (mails a minute) it prints the busiest second instead, to show the pace held.
 *   node dist/bench/graph-mail.js [invoices] [perMinute]
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { signInEnv, startMicrosoftStub, stubGraphTarget } from '../test/helpers/microsoft.js';
import { mailRun } from './support.js';

const invoices = Number(process.argv[2] ?? 1000);
const perMinute = Number(process.argv[3] ?? 0);

const ms = await startMicrosoftStub();
ms.mailboxes.add('penningmeester@tvdelobbers.nl');
const gateway = mailRun(
  `graph-mail-${perMinute}`,
  {
    ...stubGraphTarget(ms, 'penningmeester@tvdelobbers.nl'),
    // 0: as fast as the gateway and the stub go; the daily limit out of the way
    messagesPerMinute: perMinute,
    recipientsPerDay: 1_000_000,
  },
  invoices,
  { outbox: { concurrency: 8, pollInterval: '100ms' } },
);
const root = gateway.root;
const child = await gateway.start([], signInEnv(ms));

const dropAt = gateway.drop();
while (ms.sent.length < invoices) {
  if (Date.now() - dropAt > 900_000) throw new Error(`timeout: ${ms.sent.length} of ${invoices} mails`);
  if (child.exitCode !== null) throw new Error(`the gateway stopped; see ${join(root, 'data', 'gateway.log')}`);
  await new Promise((r) => setTimeout(r, 20));
}
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await ms.close();

const times = ms.sent.map((m) => m.sentAt!).sort((a, b) => a - b);
const perSecond = new Map<number, number>();
for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
// the busiest 5 seconds (a request may reach the stub a little late, so one second alone says less)
let busiestFive = 0;
for (let i = 0, j = 0; j < times.length; j++) {
  while (times[j]! - times[i]! >= 5_000) i++;
  busiestFive = Math.max(busiestFive, j - i + 1);
}
const seconds = (times.at(-1)! - dropAt) / 1000;
rmSync(root, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({
    invoices,
    mails: ms.sent.length,
    distinct: new Set(ms.sent.map((m) => m.internetMessageId)).size,
    seconds,
    mailsPerSecond: invoices / seconds,
    // the steady part of a paced run: from the first send to the last
    pacedPerMinute: times.length > 1 ? ((times.length - 1) / (times.at(-1)! - times[0]!)) * 60_000 : 0,
    busiestSecond: Math.max(...perSecond.values()),
    busiestFive,
    graphRequests: ms.requests.length,
    tokenRequests: ms.tokenRequests,
  })}\n`,
);
