import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import type { DeliveryRecord } from '../src/ledger/ledger.js';
import { MailTemplates } from '../src/mail/compose.js';
import { SmtpTransport } from '../src/transports/smtp.js';
import { startDovecot, type TestDovecot } from './helpers/dovecot.js';
import { startPostfix } from './helpers/postfix.js';
import { minimalInvoice } from './helpers/invoice.js';
import { listDeliveries } from './helpers/ledger-view.js';
import { CLI, ROOT } from './helpers/paths.js';
import { membersCsv, startService, stopService, waitFor } from './helpers/service.js';
import { mailWorkspace, startSmtp, type TestSmtp } from './helpers/smtp.js';

/** What a folder of the Dovecot mailbox holds: each message's Message-ID, flags and parsed content. */
async function folderOf(dovecot: TestDovecot, path: string) {
  const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.password }, logger: false });
  await client.connect();
  const out: { messageId: string; flags: string[]; subject: string; to: string; pdf?: Buffer }[] = [];
  const lock = await client.getMailboxLock(path);
  try {
    for await (const m of client.fetch('1:*', { source: true, flags: true }, { uid: false })) {
      const parsed = await simpleParser(m.source!);
      out.push({
        messageId: parsed.messageId ?? '',
        flags: [...(m.flags ?? [])],
        subject: parsed.subject ?? '',
        to: (parsed.to as { text: string } | undefined)?.text ?? '',
        ...(parsed.attachments[0] ? { pdf: parsed.attachments[0].content } : {}),
      });
    }
  } catch (err) {
    // an empty folder has no message 1
    if (!/Invalid messageset|No matching messages/i.test(String((err as { responseText?: string }).responseText ?? err))) throw err;
  } finally {
    lock.release();
    await client.logout();
  }
  return out;
}

/** Puts a message into the Dovecot user's inbox, as the mail system delivering it would. */
async function deliverToInbox(dovecot: TestDovecot, raw: string): Promise<void> {
  const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.password }, logger: false });
  await client.connect();
  await client.append('INBOX', Buffer.from(raw.replace(/\r?\n/g, '\r\n')), []);
  await client.logout();
}

describe('the mailbox behind an SMTP account, over IMAP (real Dovecot): a copy in Sent, drafts for review', function () {
  this.timeout(180_000);
  let smtp: TestSmtp;
  let dovecot: TestDovecot;
  beforeEach(async () => {
    smtp = await startSmtp();
    dovecot = await startDovecot();
  });
  afterEach(async () => {
    await smtp.close();
    await dovecot.stop();
  });

  const imap = () => ({ host: '127.0.0.1', port: dovecot.port, user: dovecot.user, password: '${IMAP_PASSWORD}' });
  const env = () => ({ IMAP_PASSWORD: dovecot.password });

  it('puts the very message it sent into the Sent folder the server marks \\Sent, once per mail', async () => {
    const ws = mailWorkspace(smtp, { imap: imap() });
    const service = startService(ws, env());
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(3));
      await waitFor('3 deliveries recorded', async () => (await listDeliveries(ws)).filter((d) => d.state === 'sent').length === 3, 60_000);
    } finally {
      await stopService(service);
    }
    const sent = await folderOf(dovecot, 'Sent');
    const received = smtp.received.filter((m) => (m.to as { text: string }).text !== 'archief@tvdelobbers.nl');
    assert.equal(sent.length, 3, dovecot.log());
    assert.deepEqual(
      sent.map((m) => m.messageId).sort(),
      [...new Set(received.map((m) => m.messageId ?? ''))].sort(),
      'the same Message-IDs as the mails the server took',
    );
    const first = sent.find((m) => m.to === 'lid5001@example.nl')!;
    const got = received.find((m) => m.messageId === first.messageId)!;
    assert.equal(first.subject, got.subject);
    assert.ok(first.pdf?.equals(got.attachments[0]!.content), 'the same PDF, byte for byte');
    assert.ok(first.flags.includes('\\Seen'));
    // the archive Bcc got its copy over SMTP (the envelope), and the message itself names no Bcc
    assert.equal(smtp.envelopes.filter((e) => e.to.includes('archief@tvdelobbers.nl')).length, 3);
    assert.ok((await listDeliveries(ws)).every((d) => /\(copy in Sent\)$/.test(d.result ?? '')));
  });

  it('asked again for a mail whose record was lost: the copy in Sent shows it went out, so it is not sent again', async () => {
    const target = {
      kind: 'smtp' as const,
      host: '127.0.0.1',
      port: smtp.port,
      from: 'De Vries <facturen@devries-kantoor.nl>',
      imap: { ...imap(), password: dovecot.password },
    };
    const transport = new SmtpTransport('mail', target, new MailTemplates(join(ROOT, 'config')));
    const request = (attempts: number) => ({
      delivery: { id: 1, idempotencyKey: 'devries.2026-00001.pdf-email-1', target: 'inkoop@klant.nl', options: {}, attempts } as unknown as DeliveryRecord,
      document: { fileName: '2026-00001.pdf', mediaType: 'application/pdf', content: Buffer.from('%PDF-1.7 test') },
      invoice: minimalInvoice('devries', 'k1', { number: '2026-00001', totals: { payableAmount: '10.00', taxInclusiveAmount: '10.00' } } as never),
    });
    try {
      assert.match(await transport.send(request(1)), /\(copy in Sent\)$/);
      assert.match(await transport.send(request(2)), /was sent before \(found in the mailbox's Sent folder\)/);
    } finally {
      await transport.close();
    }
    assert.equal(smtp.received.length, 1, 'one mail, not two');
    assert.equal((await folderOf(dovecot, 'Sent')).length, 1, 'one copy');
  });

  it('mode draft: each mail waits in Drafts, flagged \\Draft, for a person to check and send; nothing goes out over SMTP', async () => {
    const ws = mailWorkspace(smtp, { imap: imap(), mode: 'draft' });
    const service = startService(ws, env());
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(2));
      await waitFor('2 deliveries recorded', async () => (await listDeliveries(ws)).filter((d) => d.state === 'sent').length === 2, 60_000);
    } finally {
      await stopService(service);
    }
    assert.equal(smtp.received.length, 0, 'nothing sent');
    const drafts = await folderOf(dovecot, 'Drafts');
    assert.equal(drafts.length, 2);
    assert.ok(drafts.every((d) => d.flags.includes('\\Draft') && d.pdf?.subarray(0, 5).toString() === '%PDF-'));
    assert.ok((await listDeliveries(ws)).every((d) => /draft .* placed in the mailbox's Drafts/.test(d.result ?? '')));
  });

  it('a wrong IMAP password with mode draft: dead, naming the mailbox and the server’s refusal', async () => {
    const ws = mailWorkspace(smtp, { imap: imap(), mode: 'draft' });
    const service = startService(ws, { IMAP_PASSWORD: 'wrong' });
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(1));
      await waitFor('dead', async () => (await listDeliveries(ws)).find((d) => d.state === 'dead'), 60_000);
    } finally {
      await stopService(service);
    }
    const [d] = await listDeliveries(ws);
    assert.match(d!.lastError ?? '', /the IMAP mailbox facturen@devries-kantoor\.nl@127\.0\.0\.1 refused the login/);
  });

  it('a real Postfix bounces an unknown recipient: its DSN reaches the mailbox, that delivery becomes bounced with the reason; an out-of-office and a reply are not bounces; retry --to sends it to the corrected address', async () => {
    // Postfix is the members' mail server: it accepts every example.nl recipient, delivers the ones it
    // knows and bounces lid5002 with a DSN to the sender, whose mailbox is the Dovecot one read below
    const postfix = await startPostfix({
      domains: ['example.nl', 'tvdelobbers.nl'],
      mailboxes: {
        'lid5001@example.nl': true,
        'lid5003@example.nl': true,
        'lid5002-nieuw@example.nl': true,
        'archief@tvdelobbers.nl': true,
        'penningmeester@tvdelobbers.nl': dovecot.maildir,
      },
    });
    const ws = mailWorkspace(postfix, { imap: { ...imap(), checkBouncesEvery: '1s' } });
    const service = startService(ws, env());
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(3));
      // each handed to Postfix (its bounce may be read before this looks: then that one is bounced already)
      await waitFor(
        '3 deliveries sent',
        async () => {
          const list = await listDeliveries(ws);
          return list.length === 3 && list.every((d) => d.state === 'sent' || d.state === 'bounced');
        },
        60_000,
      );
      const [toMember] = await waitFor('lid5001 has its mail', async () => {
        const mails = await postfix.delivered('lid5001@example.nl');
        return mails.length ? mails : undefined;
      });
      assert.match(toMember!.subject ?? '', /Contributie/);
      const sent = await folderOf(dovecot, 'Sent');
      const messageIdTo = (n: number) => sent.find((m) => m.to === `lid${n}@example.nl`)!.messageId;
      await deliverToInbox(
        dovecot,
        `From: lid5003@example.nl\nTo: penningmeester@tvdelobbers.nl\nSubject: Afwezig: Contributie\nAuto-Submitted: auto-replied\nIn-Reply-To: ${messageIdTo(5003)}\nMessage-ID: <ooo-1@example.nl>\n\nIk ben tot 4 januari afwezig.\n`,
      );
      await deliverToInbox(
        dovecot,
        `From: lid5001@example.nl\nTo: penningmeester@tvdelobbers.nl\nSubject: Re: Contributie\nIn-Reply-To: ${messageIdTo(5001)}\nMessage-ID: <reply-1@example.nl>\n\nIs betaald, dank!\n`,
      );
      const bounced = await waitFor('the bounce recorded', async () => (await listDeliveries(ws)).find((d) => d.state === 'bounced'), 60_000).catch(
        (err: Error) => {
          // what the MTA and the mailbox did, to tell a bounce never made from one never read
          throw new Error(`${err.message}\n--- postfix ---\n${postfix.log().slice(-4000)}\n--- dovecot ---\n${dovecot.log().slice(-2000)}`);
        },
      );
      assert.equal(bounced.target, 'lid5002@example.nl');
      // Postfix's own words, from its DSN
      assert.match(bounced.lastError ?? '', /^bounced: lid5002@example\.nl: 5\.1\.1 X-Postfix; unknown user: "lid5002@example\.nl"$/, bounced.lastError);
      // the watch has read every message (each carries its keyword), and read each once: the bounce stays the only change
      await waitFor('every inbox message read', async () => {
        const read = await folderOf(dovecot, 'INBOX');
        return read.length === 3 && read.every((m) => m.flags.includes('$InvoiceGatewayChecked'));
      });
      const states = (await listDeliveries(ws)).map((d) => `${d.target}:${d.state}`).sort();
      assert.deepEqual(states, ['lid5001@example.nl:sent', 'lid5002@example.nl:bounced', 'lid5003@example.nl:sent']);
      // the people reading the mailbox still see the reply as unread
      const inbox = await folderOf(dovecot, 'INBOX');
      assert.ok(
        inbox.find((m) => m.messageId === '<reply-1@example.nl>')!.flags.every((f) => f !== '\\Seen'),
        JSON.stringify(inbox),
      );
      // the operator corrects the address: the same delivery goes to the new one
      const retry = spawn(process.execPath, [
        CLI,
        'retry',
        String(bounced.id),
        '--to',
        'lid5002-nieuw@example.nl',
        '--config',
        ws.config,
        '--mappings',
        ws.mappings,
      ]);
      let out = '';
      retry.stdout.on('data', (d: Buffer) => (out += d.toString()));
      assert.equal(await new Promise((r) => retry.once('exit', r)), 0, out);
      await waitFor('recorded as sent', async () => (await listDeliveries(ws)).find((d) => d.id === bounced.id && d.state === 'sent'), 30_000);
      await waitFor('delivered to the corrected address', async () => (await postfix.delivered('lid5002-nieuw@example.nl')).length === 1, 30_000);
    } finally {
      await stopService(service);
      await postfix.stop();
    }
  });
});
