import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { parse, stringify } from 'yaml';
import type { GraphTargetConfig } from '../src/config/types.js';
import type { DeliveryRecord } from '../src/ledger/ledger.js';
import { MailTemplates } from '../src/mail/compose.js';
import { GraphMailTransport } from '../src/transports/graph.js';
import { GraphClient } from '../src/transports/graph-client.js';
import { TransportError } from '../src/transports/transport.js';
import { exchangeNdr } from './helpers/dsn-samples.js';
import { minimalInvoice } from './helpers/invoice.js';
import { listDeliveries } from './helpers/ledger-view.js';
import { signInEnv, startMicrosoftStub, stubGraphTarget, type MicrosoftStub } from './helpers/microsoft.js';
import { launchChromium } from './helpers/browser.js';
import { startGoogleStub } from './helpers/google.js';
import { addConsoleUser } from './helpers/console.js';
import { freePort } from './helpers/net.js';
import { CLI, ROOT } from './helpers/paths.js';
import { membersCsv, startService, stopService, waitFor, workspace, type Workspace } from './helpers/service.js';
import { MEMBERSHIP_CUSTOMERS } from './helpers/smtp.js';
import { selfSignedCertificate } from './helpers/tls.js';

const MAILBOX = 'facturen@devries-kantoor.nl';

/** A workspace whose mail goes out through the stub's Graph from the invoicing mailbox. */
function graphWorkspace(ms: MicrosoftStub, target: Record<string, unknown> = {}, customers: Record<string, unknown> = MEMBERSHIP_CUSTOMERS): Workspace {
  const ws = workspace({ email: { server: 'm365' } }, customers);
  const file = join(ws.config, 'gateway.yaml');
  const settings = parse(readFileSync(file, 'utf-8')) as { targets: Record<string, unknown> };
  settings.targets['m365'] = {
    ...stubGraphTarget(ms, MAILBOX),
    bcc: 'archief@devries-kantoor.nl',
    messagesPerMinute: 0,
    ...target,
  };
  writeFileSync(file, stringify(settings));
  return ws;
}

/** The CLI run without blocking this process (the stub answers from it). */
async function cli(ws: Workspace, args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args, '--config', ws.config, '--mappings', ws.mappings], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { status, stdout, stderr };
}

/** A mail server (STARTTLS) that takes only XOAUTH2 logins `accepts` approves; another gets XOAUTH2's error answer with `scope`. */
async function xoauth2Server(
  scope: string,
  accepts: (user: string, token: string) => boolean,
): Promise<{ port: number; caFile: string; received: ParsedMail[]; close(): Promise<void> }> {
  const tls = selfSignedCertificate();
  const received: ParsedMail[] = [];
  const server = new SMTPServer({
    key: readFileSync(tls.key),
    cert: readFileSync(tls.cert),
    authMethods: ['XOAUTH2'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.method === 'XOAUTH2' && accepts(auth.username ?? '', auth.accessToken ?? '')) return callback(null, { user: auth.username });
      callback(null, { data: { status: '401', schemes: 'bearer', scope } });
    },
    onData(stream, _session, callback) {
      void simpleParser(stream).then((mail) => {
        received.push(mail);
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    caFile: tls.cert,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A workspace whose mail goes to that server from the invoicing mailbox, signing in as `signIn` says. */
function xoauth2Workspace(server: { port: number; caFile: string }, signIn: Record<string, unknown>): Workspace {
  const ws = workspace({ email: { server: 'oauth-smtp' } }, MEMBERSHIP_CUSTOMERS);
  const file = join(ws.config, 'gateway.yaml');
  const settings = parse(readFileSync(file, 'utf-8')) as { targets: Record<string, unknown> };
  settings.targets['oauth-smtp'] = {
    kind: 'smtp',
    host: '127.0.0.1',
    port: server.port,
    requireTLS: true,
    caFile: server.caFile,
    user: MAILBOX,
    from: `De Vries <${MAILBOX}>`,
    ...signIn,
  };
  writeFileSync(file, stringify(settings));
  return ws;
}

const toOf = (m: { toRecipients: { emailAddress: { address: string } }[] }): string => m.toRecipients.map((r) => r.emailAddress.address).join(',');

describe('mail from a Microsoft 365 mailbox through Microsoft Graph (a local stub of Entra ID and Graph)', function () {
  this.timeout(180_000);
  let ms: MicrosoftStub;
  beforeEach(async () => {
    ms = await startMicrosoftStub();
  });
  afterEach(async () => {
    await ms.close();
  });

  it('sends each member the PDF from the invoicing mailbox with a copy in Sent Items, signed in once with a client secret from the environment', async () => {
    const ws = graphWorkspace(ms);
    const service = startService(ws, signInEnv(ms));
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(3));
      await waitFor('3 mails sent', () => ms.sent.length === 3, 60_000);
      await waitFor('3 deliveries recorded', async () => (await listDeliveries(ws)).filter((d) => d.state === 'sent').length === 3);
    } finally {
      await stopService(service);
    }
    const first = ms.sent.find((m) => toOf(m) === 'lid5001@example.nl')!;
    assert.ok(first, 'a mail to the first member');
    assert.equal(first.subject, 'Contributie Tennisvereniging De Lobbers: factuur LID2027-0001');
    // Graph carries one body: the template's HTML
    assert.equal(first.body.contentType, 'HTML');
    assert.match(first.body.content, /Wilt u <strong>€ 215,00<\/strong> vóór 01-02-2027 overmaken/);
    assert.equal(first.internetMessageId, '<lobbers.LID2027-0001.pdf-email-1@devries-kantoor.nl>');
    assert.deepEqual(first.bccRecipients, [{ emailAddress: { address: 'archief@devries-kantoor.nl' } }]);
    const pdf = first.attachments.find((a) => a.contentType === 'application/pdf')!;
    assert.equal(pdf.name, 'LID2027-0001.pdf');
    assert.equal(pdf.content.subarray(0, 5).toString(), '%PDF-');
    // Exchange keeps the copy: every mail is in the mailbox's Sent Items, none left in Drafts
    assert.equal(ms.folders.get(`${MAILBOX}|SentItems`)?.length, 3);
    assert.equal(ms.folders.get(`${MAILBOX}|Drafts`)?.length ?? 0, 0);
    assert.equal(ms.tokenRequests, 1, 'one token for all mails (kept until it expires)');
    const deliveries = await listDeliveries(ws);
    assert.ok(
      deliveries.every((d) => /sent from facturen@devries-kantoor\.nl \(copy in Sent Items\)/.test(d.result ?? '')),
      JSON.stringify(deliveries),
    );
  });

  it('the gateway killed between the send and its record: after the restart the mail is found in Sent Items, and nobody gets it twice', async () => {
    const ws = graphWorkspace(ms);
    const env = signInEnv(ms);
    let service = startService(ws, env);
    // the second mail goes out, and the process dies before Graph's answer reaches it
    ms.onSend = () => {
      if (ms.sent.length === 2) service.kill('SIGKILL');
    };
    writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(4));
    await waitFor('the kill', () => service.exitCode !== null || service.signalCode !== null, 60_000);
    ms.onSend = undefined;
    service = startService(ws, env);
    try {
      await waitFor('4 deliveries sent', async () => (await listDeliveries(ws)).filter((d) => d.state === 'sent').length === 4, 90_000, 200);
    } finally {
      await stopService(service);
    }
    const ids = ms.sent.map((m) => m.internetMessageId);
    assert.equal(ms.sent.length, 4, `sent: ${ids.join(', ')}`);
    assert.equal(new Set(ids).size, 4, 'no mail twice');
    const results = (await listDeliveries(ws)).map((d) => d.result ?? '');
    assert.ok(
      results.some((r) => /found in Sent Items/.test(r)),
      `the interrupted one was recognised: ${results.join(' | ')}`,
    );
  });

  it('an Exchange non-delivery report in the mailbox is read over Graph: that delivery becomes bounced; a reply and an out-of-office are not; each message is read once and left unread for people; an operator sends it to the corrected address from the console (Chromium)', async () => {
    const ws = graphWorkspace(ms, { checkBouncesEvery: '1s' });
    const port = await freePort();
    const settings = join(ws.config, 'gateway.yaml');
    writeFileSync(settings, `${readFileSync(settings, 'utf-8')}console:\n  port: ${port}\n`);
    addConsoleUser(ws, 'olga', 'operator', 'operator-password-1', 'nl');
    const service = startService(ws, signInEnv(ms));
    const browser = await launchChromium();
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(3));
      await waitFor('3 deliveries sent', async () => (await listDeliveries(ws)).filter((d) => d.state === 'sent').length === 3, 60_000);
      const idOf = (n: number) => ms.sent.find((m) => toOf(m) === `lid${n}@example.nl`)!.internetMessageId;
      ms.deliver(MAILBOX, exchangeNdr(idOf(5002), 'lid5002@example.nl'));
      ms.deliver(
        MAILBOX,
        `From: lid5003@example.nl\nTo: ${MAILBOX}\nSubject: Automatic reply: Contributie\nAuto-Submitted: auto-replied\nIn-Reply-To: ${idOf(5003)}\nMessage-ID: <ooo-2@example.nl>\n\nAfwezig.\n`,
      );
      ms.deliver(
        MAILBOX,
        `From: lid5001@example.nl\nTo: ${MAILBOX}\nSubject: Re: Contributie\nIn-Reply-To: ${idOf(5001)}\nMessage-ID: <reply-2@example.nl>\n\nBetaald.\n`,
      );
      const bounced = await waitFor('the bounce recorded', async () => (await listDeliveries(ws)).find((d) => d.state === 'bounced'), 30_000);
      assert.equal(bounced.target, 'lid5002@example.nl');
      assert.match(bounced.lastError ?? '', /^bounced: lid5002@example\.nl: smtp;550 5\.1\.10 RESOLVER\.ADR\.RecipientNotFound/);
      // every message carries our mark (an extended property Outlook does not show): none is read twice
      await waitFor('every inbox message marked', () => (ms.inbox.get(MAILBOX) ?? []).every((m) => m.properties.size === 1));
      const reads = () => ms.requests.filter((r) => r.path.endsWith('/$value')).length;
      const before = reads();
      const lists = ms.requests.filter((r) => /mailFolders\/inbox\/messages$/i.test(r.path)).length;
      await waitFor('the inbox listed twice more', () => ms.requests.filter((r) => /mailFolders\/inbox\/messages$/i.test(r.path)).length >= lists + 2);
      assert.equal(reads(), before, 'no message fetched again');
      assert.equal(before, 3);
      assert.ok(
        (ms.inbox.get(MAILBOX) ?? []).every((m) => !m.isRead),
        'the people working in the mailbox still see them as unread',
      );
      const states = (await listDeliveries(ws)).map((d) => `${d.target}:${d.state}`).sort();
      assert.deepEqual(states, ['lid5001@example.nl:sent', 'lid5002@example.nl:bounced', 'lid5003@example.nl:sent']);

      // the operator sees the alert, types the corrected address on the bounced row and sends it again
      const page = await (await browser.newContext()).newPage();
      await page.goto(`http://127.0.0.1:${port}/login`);
      await page.fill('input[name=name]', 'olga');
      await page.fill('input[name=password]', 'operator-password-1');
      await page.click('button[type=submit]');
      await page.waitForURL(`http://127.0.0.1:${port}/`);
      await page.locator('[data-alert=bounced] a').click();
      await page.waitForURL(/\/deliveries\?state=bounced/);
      const row = page.locator('tr.state-bounced');
      assert.equal(await row.count(), 1);
      assert.match(await row.innerText(), /RecipientNotFound/);
      await row.locator('input[name=to]').fill('lid5002@example');
      await row.locator('.retry-to button').click();
      // the page comes back (the same address) with what was wrong
      await page.locator('.flash', { hasText: '"lid5002@example" is not an e-mail address' }).waitFor();
      await page.locator('tr.state-bounced input[name=to]').fill('lid5002.nieuw@example.nl');
      await page.locator('tr.state-bounced .retry-to button').click();
      await page.locator('.flash', { hasText: 'gaat nu naar lid5002.nieuw@example.nl. Pas het adres ook aan in customers.yaml' }).waitFor();
      await waitFor('sent to the corrected address', () => ms.sent.some((m) => toOf(m) === 'lid5002.nieuw@example.nl'), 30_000);
      await waitFor('that delivery sent', async () => (await listDeliveries(ws)).find((d) => d.id === bounced.id && d.state === 'sent'));
      assert.equal(ms.sent.length, 4, 'only that mail went out again');
    } finally {
      await browser.close();
      await stopService(service);
    }
  });

  it('quotes in draft mode wait in the mailbox’s Drafts for a person to send them from Outlook; they are never sent by the gateway', async () => {
    const ws = graphWorkspace(ms, { mode: 'draft' });
    const service = startService(ws, signInEnv(ms));
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(2));
      await waitFor('2 deliveries recorded', async () => (await listDeliveries(ws)).filter((d) => d.state === 'sent').length === 2, 60_000);
    } finally {
      await stopService(service);
    }
    assert.equal(ms.sent.length, 0, 'nothing sent');
    const drafts = ms.folders.get(`${MAILBOX}|Drafts`) ?? [];
    assert.equal(drafts.length, 2);
    assert.ok(drafts.every((d) => d.attachments.some((a) => a.contentType === 'application/pdf')));
    assert.ok((await listDeliveries(ws)).every((d) => /draft .* placed in facturen@devries-kantoor\.nl Drafts/.test(d.result ?? '')));
  });

  it('a mailbox the app may not use, or a wrong secret: the delivery is dead with the reason an administrator can act on', async () => {
    ms.mailboxes.clear();
    const ws = graphWorkspace(ms);
    let service = startService(ws, signInEnv(ms));
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(1));
      await waitFor('dead', async () => (await listDeliveries(ws)).find((d) => d.state === 'dead'), 60_000);
    } finally {
      await stopService(service);
    }
    const [refused] = await listDeliveries(ws);
    assert.match(refused!.lastError ?? '', /the app may not use mailbox facturen@devries-kantoor\.nl \(ErrorAccessDenied.*application access policy/);
    const other = graphWorkspace(ms);
    service = startService(other, { ...signInEnv(ms), M365_CLIENT_SECRET: 'an-old-secret' });
    try {
      writeFileSync(join(other.inbox, 'members', 'contributie_m.csv'), membersCsv(1));
      await waitFor('dead', async () => (await listDeliveries(other)).find((d) => d.state === 'dead'), 60_000);
    } finally {
      await stopService(service);
    }
    const [wrong] = await listDeliveries(other);
    assert.match(wrong!.lastError ?? '', /sign-in to Microsoft Entra ID failed: invalid_client.*AADSTS7000215/);
    assert.equal(ms.sent.length, 0);
  });

  it('a bulk run of 1,000 mails paced per mailbox, over its daily limit: the rest waits for the next window (not failed), the plan says when; a restart in the middle sends nothing twice', async () => {
    // the Microsoft 365 limits scaled down so the test runs in a minute: 20 a second, 600 recipients a day
    const ws = graphWorkspace(ms, { bcc: undefined, messagesPerMinute: 1200, recipientsPerDay: 600 });
    const env = signInEnv(ms);
    let service = startService(ws, env);
    ms.onSend = () => {
      if (ms.sent.length === 200) service.kill('SIGKILL');
    };
    writeFileSync(join(ws.inbox, 'members', 'contributie_bulk.csv'), membersCsv(1000));
    await waitFor('the kill in the middle', () => service.exitCode !== null || service.signalCode !== null, 120_000);
    ms.onSend = undefined;
    service = startService(ws, env);
    let status = '';
    try {
      await waitFor(
        '600 sent, 400 waiting',
        async () => {
          const states = (await listDeliveries(ws)).map((d) => d.state);
          return (
            states.filter((s) => s === 'sent').length >= 600 &&
            states.filter((s) => s === 'pending').length + states.filter((s) => s === 'sent').length === 1000
          );
        },
        150_000,
        500,
      );
      status = (await cli(ws, ['status'], env)).stdout;
    } finally {
      await stopService(service);
    }
    const deliveries = await listDeliveries(ws);
    const sent = deliveries.filter((d) => d.state === 'sent');
    const waiting = deliveries.filter((d) => d.state === 'pending');
    const ids = ms.sent.map((m) => m.internetMessageId);
    assert.equal(new Set(ids).size, ids.length, 'nothing sent twice');
    assert.equal(ms.sent.length, sent.length, 'every mail sent is recorded once');
    // the allowance: at most what a kill left unrecorded (the mails under way) over the limit
    assert.ok(sent.length >= 600 && sent.length <= 608, `${sent.length} sent`);
    assert.ok(
      waiting.every((d) => d.attempts === 0 && /daily limit/.test(d.lastError ?? '')),
      'waiting, not failed',
    );
    assert.equal(deliveries.filter((d) => d.state === 'failed' || d.state === 'dead').length, 0);
    // the pace held: in any 5 seconds at most 100 sends (20 a second), give or take the two a request
    // may arrive late at the stub by (the pace is kept where a mail leaves, not where the stub sees it)
    const times = ms.sent.map((m) => m.sentAt!).sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; j < times.length; j++) {
      while (times[j]! - times[i]! >= 5_000) i++;
      most = Math.max(most, j - i + 1);
    }
    assert.ok(most <= 102, `at most 100 in any 5 seconds: ${most}`);
    assert.ok(times.at(-1)! - times[0]! >= ((sent.length - 1) / 20) * 1000 * 0.9, 'spread over the time the pace asks for');
    // the plan: the rest from when the first mail of the window is 24 hours old
    // (the ledger records a send a moment after the stub saw it: either minute is right)
    const minute = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
    const due = Math.min(...ms.sent.map((m) => m.sentAt!)) + 86_400_000;
    const at = `(${minute(due)}|${minute(due + 5_000)}) UTC`;
    assert.match(
      status,
      new RegExp(`e-mail: +${sent.length} of 600 recipients in the last 24 hours from m365; ${waiting.length} mail\\(s\\) waiting: 0 now, the rest from ${at}`),
      status,
    );
  });

  it('check-config: a sign-in without secret or certificate is named; --online signs in and names a mailbox the app may not use', async () => {
    const env = signInEnv(ms);
    const bare = graphWorkspace(ms, { clientSecret: undefined });
    const offline = await cli(bare, ['check-config'], env);
    assert.equal(offline.status, 1, offline.stdout);
    assert.match(offline.stderr, /targets\.m365: the app cannot sign in: set clientSecret .* or, better, certificate/);
    const ws = graphWorkspace(ms);
    const good = await cli(ws, ['check-config', '--online'], env);
    assert.equal(good.status, 0, good.stderr);
    assert.match(good.stdout, /targets\.m365: signed in, mailbox facturen@devries-kantoor\.nl can be used/);
    ms.mailboxes.clear();
    const refused = await cli(ws, ['check-config', '--online'], env);
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(refused.stderr, /targets\.m365: m365: the app may not use mailbox facturen@devries-kantoor\.nl \(ErrorAccessDenied/);
    const wrong = await cli(ws, ['check-config', '--online'], { ...env, M365_CLIENT_SECRET: 'an-old-secret' });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /AADSTS7000215/);
  });

  it('signed in with a certificate: a 35 MB attachment goes up in chunks; throttling waits as long as Graph says; an expired token is renewed', async () => {
    const cert = selfSignedCertificate();
    ms.registerCertificate(readFileSync(cert.cert, 'utf-8'));
    const target: GraphTargetConfig = {
      kind: 'graph',
      mailbox: MAILBOX,
      tenant: ms.tenant,
      clientId: ms.clientId,
      certificate: { certificateFile: cert.cert, privateKeyFile: cert.key },
      authorityHost: ms.base,
      graphEndpoint: ms.base,
      caFile: ms.caFile,
      messagesPerMinute: 0,
    };
    const transport = new GraphMailTransport('m365', target, new MailTemplates(join(ROOT, 'config')));
    const big = Buffer.alloc(35 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    // beside it a file that still goes in a request of its own, and one just under 3 MiB, whose base64 in
    // such a request would pass Graph's 4 MiB: every request must stay under it
    const nearLimit = Buffer.alloc(2_999_000, 7);
    const justUnder3MiB = Buffer.alloc(3_145_600, 9);
    const request = (n: number, attempts = 1) => ({
      delivery: { id: n, idempotencyKey: `devries.2026-0000${n}.pdf-email-1`, target: 'inkoop@klant.nl', options: {}, attempts } as unknown as DeliveryRecord,
      document: {
        fileName: `2026-0000${n}.pdf`,
        mediaType: 'application/pdf',
        content: big,
        attachments: [
          { fileName: `2026-0000${n}.xml`, mediaType: 'application/xml', content: nearLimit },
          { fileName: `2026-0000${n}-bijlage.pdf`, mediaType: 'application/pdf', content: justUnder3MiB },
        ],
      },
      invoice: minimalInvoice('devries', `k${n}`, { number: `2026-0000${n}`, totals: { payableAmount: '10.00', taxInclusiveAmount: '10.00' } } as never),
    });
    try {
      // throttled: a TransportError that waits for the time Graph asked, never a dead delivery
      ms.throttle(1, 7);
      const throttled = await transport.send(request(1)).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(throttled instanceof TransportError, String(throttled));
      assert.equal(throttled.permanent, false);
      assert.equal(throttled.retryAfterMs, 7000);
      assert.match(throttled.message, /Microsoft Graph asks to wait \(429 ApplicationThrottled/);
      // the mailbox over Exchange's own sending limit: it waits an hour, it is not dead (nor is a full mailbox)
      const client = new GraphClient('m365', target);
      const quota = client.failure(
        403,
        null,
        JSON.stringify({ error: { code: 'ErrorQuotaExceeded', message: 'The sender has exceeded the submission quota.' } }),
      );
      await client.close();
      assert.equal(quota.permanent, false);
      assert.equal(quota.retryAfterMs, 3_600_000);
      assert.match(quota.message, /reached its sending limit \(ErrorQuotaExceeded/);
      // the token expired meanwhile: one 401, a fresh token, and the send goes through
      ms.expireTokens();
      const outcome = await transport.send(request(1, 2));
      assert.match(outcome.result, /sent from facturen@devries-kantoor\.nl/);
      assert.equal(ms.tokenRequests, 2);
      assert.equal(ms.sent.length, 1);
      const [mail] = ms.sent;
      assert.equal(mail!.uploadedInChunks, 2, 'the 35 MB file and the one just under 3 MiB went through upload sessions');
      assert.ok(mail!.attachments.find((a) => a.name === '2026-00001.pdf')!.content.equals(big), 'the attachment arrived whole, byte for byte');
      assert.ok(mail!.attachments.find((a) => a.name === '2026-00001.xml')!.content.equals(nearLimit), 'and the ones beside it');
      assert.ok(mail!.attachments.find((a) => a.name === '2026-00001-bijlage.pdf')!.content.equals(justUnder3MiB));
      assert.ok(
        ms.requests.filter((r) => r.method === 'POST' || r.method === 'PUT').every((r) => r.status !== 413),
        'no request over Graph’s 4 MB limit',
      );
      // asked again for the same mail (its record was lost): found in Sent Items, not sent again
      const again = await transport.send(request(1, 3));
      assert.match(again.result, /found in Sent Items/);
      assert.equal(ms.sent.length, 1);
    } finally {
      await transport.close();
    }
  });
});

describe('SMTP with OAuth 2.0 (XOAUTH2) instead of a password, the token from the same app sign-in', function () {
  this.timeout(120_000);

  it('signs in to the mail server with an access token from Entra ID and gets a new one when the server refuses the old', async () => {
    const ms = await startMicrosoftStub();
    const tokensSeen: string[] = [];
    let refuseNext = true;
    // the first token "expired" on the server's side: XOAUTH2's error answer, then the client asks again
    const server = await xoauth2Server('https://outlook.office365.com/.default', (user, token) => {
      tokensSeen.push(token);
      const ok = user === MAILBOX && token.startsWith('stub-') && !refuseNext;
      refuseNext = false;
      return ok;
    });
    const { received } = server;
    const ws = xoauth2Workspace(server, {
      oauth2: { tenant: '${M365_TENANT_ID}', clientId: '${M365_CLIENT_ID}', clientSecret: '${M365_CLIENT_SECRET}', authorityHost: ms.base, caFile: ms.caFile },
    });
    const service = startService(ws, signInEnv(ms));
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(2));
      await waitFor('2 mails', () => received.length === 2, 60_000);
    } finally {
      await stopService(service);
      await server.close();
      await ms.close();
    }
    assert.deepEqual(received.map((m) => (m.to as { text: string }).text).sort(), ['lid5001@example.nl', 'lid5002@example.nl']);
    // the refused token was asked for again (skipping the cache); connections opened meanwhile may still use the old one
    assert.equal(new Set(tokensSeen).size, 2, `a fresh token after the refusal: ${tokensSeen.join(', ')}`);
    assert.equal(ms.tokenRequests, 2);
  });

  it('Google Workspace: signs in as a service account acting for the mailbox (domain-wide delegation); without the delegation the mail is dead with what the administrator must do, and a retry after it is granted sends it', async () => {
    const google = await startGoogleStub();
    // smtp.gmail.com takes a token Google issued for this very mailbox and the mail scope
    const server = await xoauth2Server('https://mail.google.com/', (user, token) => {
      const issued = google.issued.get(token);
      return user === MAILBOX && issued?.sub === user && issued.scope === 'https://mail.google.com/';
    });
    const { received } = server;
    const ws = xoauth2Workspace(server, { googleServiceAccount: { keyFile: '${GOOGLE_KEY_FILE}', caFile: google.caFile } });
    const env = { GOOGLE_KEY_FILE: google.keyFile };
    const service = startService(ws, env);
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(2));
      const dead = await waitFor(
        'both dead: the account may not act as the mailbox yet',
        async () => {
          const list = (await listDeliveries(ws)).filter((d) => d.state === 'dead');
          return list.length === 2 ? list : undefined;
        },
        60_000,
      );
      assert.match(
        dead[0]!.lastError ?? '',
        /sign-in to Google failed: unauthorized_client: Client is unauthorized.*give the service account domain-wide delegation for https:\/\/mail\.google\.com\//,
      );
      assert.equal(received.length, 0);
      // the administrator grants it; an operator sends them again
      google.delegated.set(MAILBOX, 'https://mail.google.com/');
      for (const d of dead) assert.equal((await cli(ws, ['retry', String(d.id)], env)).status, 0);
      await waitFor('2 mails', () => received.length === 2, 60_000);
    } finally {
      await stopService(service);
      await server.close();
      await google.close();
    }
    assert.deepEqual(received.map((m) => (m.to as { text: string }).text).sort(), ['lid5001@example.nl', 'lid5002@example.nl']);
    assert.equal(google.issued.size, 1, 'one token for both mails');
  });
});
