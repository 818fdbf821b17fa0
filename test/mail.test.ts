import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { parse } from 'yaml';
import type { CustomersConfig } from '../src/config/types.js';
import { CLI, ROOT, SAMPLES } from './helpers/paths.js';
import { filesIn, membersCsv, startService, stopService, waitFor } from './helpers/service.js';
import { countDeliveries, deliveriesOfKind, listDeliveries, listInvoices } from './helpers/ledger-view.js';
import { mailWorkspace, startSmtp, type TestSmtp } from './helpers/smtp.js';
import { openssl, selfSignedCertificate } from './helpers/tls.js';

describe('PDF invoices by e-mail through a real SMTP server', function () {
  this.timeout(180_000);
  let smtp: TestSmtp;
  beforeEach(async () => {
    smtp = await startSmtp();
  });
  afterEach(async () => {
    await smtp.close();
  });

  it('sends each member a mail with the texts filled in and the PDF whose text holds number, totals and VAT line', async () => {
    const ws = mailWorkspace(smtp);
    const service = startService(ws);
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(3));
      await waitFor('3 mails', () => smtp.received.filter((m) => (m.to as { text: string }).text !== 'archief@tvdelobbers.nl').length >= 3, 60_000);
    } finally {
      await stopService(service);
    }
    const mail = smtp.received.find((m) => JSON.stringify(m.to).includes('lid5001@example.nl'))!;
    assert.ok(mail, 'mail to the first member');
    assert.equal(mail.subject, 'Contributie Tennisvereniging De Lobbers: factuur LID2027-0001');
    assert.match(mail.text ?? '', /Wilt u € 215,00 vóór 01-02-2027 overmaken op NL20INGB0001234567 onder vermelding van "Contributie 2027 lid 5001"/);
    assert.match(mail.messageId ?? '', /^<lobbers\.LID2027-0001\.pdf-email-1@tvdelobbers\.nl>$/);
    assert.equal(mail.replyTo?.text, 'penningmeester@tvdelobbers.nl');
    const pdf = mail.attachments.find((a) => a.contentType === 'application/pdf');
    assert.ok(pdf, 'PDF attached');
    assert.equal(pdf.filename, 'LID2027-0001.pdf');
    const pdfFile = join(ws.root, 'm.pdf');
    writeFileSync(pdfFile, pdf.content);
    const text = spawnSync('pdftotext', ['-layout', pdfFile, '-'], { encoding: 'utf-8' }).stdout;
    assert.match(text, /Factuurnummer\s+LID2027-0001/);
    assert.match(text, /Te betalen\s+€ 215,00/);
    assert.match(text, /Vrijgesteld van btw over € 215,00\s+€ 0,00/);
    assert.match(text, /Vrijgesteld van btw/);
    assert.match(text, /KvK 40478215/);
    assert.match(text, /Pagina 1 van 1/);
  });

  it('quotations: their own number series, a PDF titled Offerte with its validity date, mailed, never UBL or accounting', async () => {
    // the shipped customers, each routed to PDF by e-mail and Exact, and UBL where they have a Peppol
    // address: the routes a quotation must skip
    const shipped = parse(readFileSync(join(ROOT, 'config', 'customers.yaml'), 'utf-8')) as CustomersConfig;
    const routesOf = (peppol: boolean) => [
      { format: 'pdf', transport: 'email' },
      ...(peppol ? [{ format: 'ubl', transport: 'folder', target: 'out' }] : []),
      { format: 'exact-online', transport: 'folder', administration: 'devries' },
    ];
    const customers = {
      ...shipped,
      customers: Object.fromEntries(Object.entries(shipped.customers ?? {}).map(([key, c]) => [key, { ...c, routes: routesOf(Boolean(c.party.endpoint)) }])),
    };
    const ws = mailWorkspace(smtp, {}, customers);
    const service = startService(ws);
    try {
      copyFileSync(join(SAMPLES, 'access', 'offertes_20261130.csv'), join(ws.inbox, 'access', 'offertes_20261130.csv'));
      await waitFor('2 quotations mailed', async () => (await deliveriesOfKind(ws, 'quote')).filter((d) => d.state === 'sent').length === 2, 60_000, 100);
      copyFileSync(join(SAMPLES, 'access', 'orders_20261130.csv'), join(ws.inbox, 'access', 'orders_20261130.csv'));
      await waitFor(
        '3 invoices mailed, 2 as UBL too',
        async () => (await deliveriesOfKind(ws, 'invoice')).filter((d) => d.state === 'sent' && ['pdf', 'ubl'].includes(d.format)).length === 5,
        90_000,
        100,
      );
    } finally {
      await stopService(service);
    }
    const numbers = (await listInvoices(ws)).map((i) => ({ kind: i.kind, number: i.number }));
    assert.deepEqual(
      numbers,
      [
        { kind: 'quote', number: 'OFF2026-0001' },
        { kind: 'quote', number: 'OFF2026-0002' },
        { kind: 'invoice', number: '2026-00001' },
        { kind: 'invoice', number: '2026-00002' },
        { kind: 'invoice', number: '2026-00003' },
      ],
      'quotations take no invoice number: the invoice series starts at 1 after them',
    );
    const quoteFormats = new Set((await deliveriesOfKind(ws, 'quote')).map((d) => d.format));
    assert.deepEqual([...quoteFormats], ['pdf'], 'a quotation goes only as PDF');
    assert.deepEqual(
      filesIn(ws.out, (n) => n.startsWith('OFF')),
      [],
      'no UBL file for a quotation',
    );

    const mail = smtp.received.find((m) => m.subject?.includes('OFF2026-0001'));
    assert.ok(mail, 'the first quotation was mailed');
    assert.equal((mail.to as { text: string }).text, 'administratie@bakkerijjansen.nl');
    assert.equal(mail.subject, 'Offerte OFF2026-0001 van De Vries Kantoorartikelen B.V.');
    assert.match(mail.text ?? '', /offerte OFF2026-0001 voor € 3\.033,97, geldig tot 15-01-2027/);
    const pdf = mail.attachments.find((a) => a.contentType === 'application/pdf');
    assert.ok(pdf);
    assert.equal(pdf.filename, 'OFF2026-0001.pdf');
    const text = spawnSync('pdftotext', ['-layout', '-', '-'], { input: pdf.content, encoding: 'utf-8' }).stdout;
    assert.match(text, /^\s*Offerte\s*$/m);
    assert.match(text, /Offertenummer\s+OFF2026-0001/);
    assert.match(text, /Geldig tot\s+15-01-2027/);
    assert.match(text, /Totaal incl\. btw\s+€ 3\.033,97/);
    assert.doesNotMatch(text, /Te betalen|Factuur/, 'a quotation asks for no payment');
    // the second quotation has no end date in the file: the default 30 days
    const second = smtp.received.find((m) => m.subject?.includes('OFF2026-0002'));
    assert.match(second?.text ?? '', /geldig tot 30-12-2026/);
  });

  it('STARTTLS with a verified certificate, login from the environment, a DKIM signature that verifies, the UBL attached, the archive BCC and our own pace', async () => {
    const certs = selfSignedCertificate().dir;
    openssl('genrsa', '-out', join(certs, 'dkim.pem'), '2048');
    const secureSmtp = await startSmtp({
      tls: { key: readFileSync(join(certs, 'key.pem')), cert: readFileSync(join(certs, 'cert.pem')) },
      auth: { user: 'gateway', pass: 's3cret wachtwoord' },
    });
    process.env['IGW_TEST_SMTP_USER'] = 'gateway';
    process.env['IGW_TEST_SMTP_PASSWORD'] = 's3cret wachtwoord';
    const ws = mailWorkspace(
      secureSmtp,
      {
        requireTLS: true,
        tlsRejectUnauthorized: true,
        caFile: join(certs, 'cert.pem'),
        user: '${IGW_TEST_SMTP_USER}',
        password: '${IGW_TEST_SMTP_PASSWORD}',
        dkim: { domainName: 'tvdelobbers.nl', keySelector: 'igw2026', privateKeyFile: join(certs, 'dkim.pem') },
        messagesPerMinute: 60,
      },
      // members have no Peppol endpoint: the UBL beside the PDF follows the plain EN 16931 rules (Peppol's would refuse it, R010)
      { defaults: { paymentTermsDays: 30, routes: [{ format: 'pdf', transport: 'email', template: 'membership', attachUbl: true, profile: 'en16931' }] } },
    );
    const service = startService(ws);
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_tls.csv'), membersCsv(4));
      await waitFor('4 mails', () => secureSmtp.received.length >= 4, 60_000);
    } finally {
      await stopService(service);
      await secureSmtp.close();
    }
    assert.equal(secureSmtp.received.length, 4);
    for (const envelope of secureSmtp.envelopes) {
      assert.equal(envelope.secure, true, 'upgraded to TLS before the login and the mail');
      assert.equal(envelope.user, 'gateway');
      assert.ok(envelope.to.includes('archief@tvdelobbers.nl'), 'the archive gets a blind copy');
    }
    // the DKIM signature verified by mailauth, with the public key served as the DNS record would be
    const publicKey = spawnSync('openssl', ['rsa', '-in', join(certs, 'dkim.pem'), '-pubout'], { encoding: 'utf-8' }).stdout.replace(/-----[^-]+-----|\s/g, '');
    const resolver = async (name: string, type: string): Promise<string[][]> => {
      if (name === 'igw2026._domainkey.tvdelobbers.nl' && type === 'TXT') return [[`v=DKIM1; k=rsa; p=${publicKey}`]];
      throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
    };
    for (const raw of secureSmtp.raw) {
      const { results } = await dkimVerify(raw, { resolver });
      assert.deepEqual(
        results.map((r) => [r.signingDomain, r.status.result]),
        [['tvdelobbers.nl', 'pass']],
      );
    }
    for (const mail of secureSmtp.received) {
      assert.equal(mail.bcc, undefined, 'the BCC is in the envelope, not in the headers');
      assert.deepEqual(mail.attachments.map((a) => a.contentType).sort(), ['application/pdf', 'application/xml']);
    }
    // 60 a minute is one a second over all connections together: the 4th mail cannot start before 3 s after
    // the 1st, which arrives at most one connection set-up (TLS, login) after its start
    const times = secureSmtp.envelopes.map((e) => e.at).sort((a, b) => a - b);
    assert.ok(times[times.length - 1]! - times[0]! >= 2000, `4 mails spread over ${times[times.length - 1]! - times[0]!} ms`);
  });

  it("a wrong SMTP password: the deliveries are dead with the server's reason, nothing is retried in vain", async () => {
    const secureSmtp = await startSmtp({ auth: { user: 'gateway', pass: 'right' } });
    const ws = mailWorkspace(secureSmtp, { user: 'gateway', password: 'wrong' });
    const service = startService(ws);
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_auth.csv'), membersCsv(2));
      await waitFor('2 dead deliveries', async () => (await countDeliveries(ws, 'dead')) === 2, 60_000, 100);
    } finally {
      await stopService(service);
      await secureSmtp.close();
    }
    for (const delivery of await listDeliveries(ws)) {
      assert.equal(delivery.attempts, 1, 'an authentication failure is not retried');
      assert.match(delivery.lastError!, /mail: authentication failed/);
    }
    assert.equal(secureSmtp.received.length, 0);
  });

  it('a server answering 451 for a while: the mails arrive later, once each', async () => {
    // the first six answers are 451 (a count, not a clock: a slow start must not miss the window)
    let refusals = 0;
    smtp.reject = () => (refusals++ < 6 ? { code: 451, message: 'Try again later (greylisted)' } : undefined);
    const ws = mailWorkspace(smtp);
    const service = startService(ws);
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_g.csv'), membersCsv(4));
      await waitFor('a temporary failure recorded', async () => (await listDeliveries(ws)).some((d) => d.lastError?.includes('451')), 30_000);
      await waitFor('4 sent', async () => (await countDeliveries(ws, 'sent')) === 4, 60_000, 100);
    } finally {
      await stopService(service);
    }
    const ids = smtp.received.map((m) => m.messageId);
    assert.equal(ids.length, 4);
    assert.equal(new Set(ids).size, 4);
    assert.ok(refusals >= 6, 'the server did refuse first');
  });

  it('a server answering 550 for one address: that delivery is dead with the reason, the others arrive', async () => {
    smtp.reject = (to) => (to === 'lid5002@example.nl' ? { code: 550, message: 'Mailbox unavailable' } : undefined);
    const ws = mailWorkspace(smtp);
    const service = startService(ws);
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_d.csv'), membersCsv(3));
      await waitFor('2 sent, 1 dead', async () => (await countDeliveries(ws, 'sent')) === 2 && (await countDeliveries(ws, 'dead')) === 1, 60_000);
    } finally {
      await stopService(service);
    }
    const [dead] = await listDeliveries(ws, { state: 'dead' });
    assert.match(dead!.lastError!, /550 Mailbox unavailable/);
    assert.equal(dead!.attempts, 1, 'a 5xx answer is not retried');
    const toMembers = smtp.received.filter((m) => !JSON.stringify(m.to).includes('lid5002'));
    assert.equal(toMembers.length, 2, 'the two others arrived');
  });

  it("the provider's own sending limit (Gmail's 550 5.4.5, Exchange's quota): the mails wait, as pending with the reason, never dead", async () => {
    smtp.reject = () => ({
      code: 550,
      message: '5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/a/answer/166852',
    });
    const ws = mailWorkspace(smtp);
    const service = startService(ws);
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_q.csv'), membersCsv(2));
      await waitFor(
        'both waiting with the reason',
        async () => {
          const list = await listDeliveries(ws);
          return (
            list.length === 2 &&
            list.every((d) => d.state === 'pending' && /reached its sending limit .*5\.4\.5 Daily user sending limit exceeded/.test(d.lastError ?? ''))
          );
        },
        60_000,
      );
    } finally {
      await stopService(service);
    }
    const list = await listDeliveries(ws);
    assert.ok(
      list.every((d) => d.attempts === 0),
      'a wait is not an attempt',
    );
    assert.ok(
      list.every((d) => d.nextAttemptAt - Date.now() > 50 * 60_000),
      'tried again in about an hour',
    );
    assert.equal(await countDeliveries(ws, 'dead'), 0);
  });

  it('the service killed in the middle of a 500-invoice bulk run: after a restart every member has exactly one mail', async () => {
    const ws = mailWorkspace(smtp);
    let service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_bulk.csv'), membersCsv(500));
    await waitFor('some mails sent', () => smtp.received.length > 20, 60_000, 5);
    await stopService(service, 'SIGKILL');
    assert.ok(smtp.received.length < 500, `killed mid-run (${smtp.received.length} received)`);
    service = startService(ws);
    try {
      await waitFor('all sent', async () => (await countDeliveries(ws, 'sent')) === 500, 120_000, 200);
      const st = spawnSync(process.execPath, [CLI, 'status', '--config', ws.config, '--mappings', ws.mappings], { encoding: 'utf-8' });
      assert.match(st.stdout, /contributie_bulk.csv: 500\/500 sent \(complete\)/);
    } finally {
      await stopService(service);
    }
    const perMember = new Map<string, Set<string>>();
    for (const m of smtp.received) {
      const to = (m.to as { text: string }).text;
      if (!perMember.has(to)) perMember.set(to, new Set());
      perMember.get(to)!.add(m.messageId ?? '');
    }
    assert.equal(perMember.size, 500, 'nobody got none');
    assert.ok(
      [...perMember.values()].every((ids) => ids.size === 1),
      'nobody got two different mails',
    );
    // SMTP cannot be exactly-once: a mail the server took in the instant before the kill, not yet
    // recorded, is sent again with the same Message-ID, which the receiving side recognises. At most
    // one such repeat per open connection (3), and never a second, different mail.
    const extra = smtp.received.length - 500;
    assert.ok(extra <= 3, `${extra} repeated messages`);
  });
});
