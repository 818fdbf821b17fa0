import { strict as assert } from 'node:assert';
import { keyOfMessageId, readMailboxMessage } from '../src/mail/dsn.js';
import { safeName } from '../src/util/safe-name.js';
import { delayNotice, exchangeNdr, postfixBounce } from './helpers/dsn-samples.js';

const crlf = (text: string): Buffer => Buffer.from(text.replace(/\r?\n/g, '\r\n'));

describe('reading bounces from the sender’s mailbox (RFC 3464 delivery status notifications)', () => {
  it('a Postfix bounce names the recipient, the status, the remote server’s words and the Message-ID of our mail', async () => {
    const read = await readMailboxMessage(crlf(postfixBounce('<devries.2026-00042.pdf-email-1@devries-kantoor.nl>', 'jan@example.nl')));
    assert.deepEqual(read, {
      kind: 'bounce',
      bounce: {
        originalMessageId: '<devries.2026-00042.pdf-email-1@devries-kantoor.nl>',
        recipient: 'jan@example.nl',
        status: '5.1.1',
        diagnostic: 'smtp; 550 5.1.1 <jan@example.nl>: Recipient address rejected: User unknown in virtual mailbox table',
      },
    });
  });

  it('an Exchange Online NDR (the original returned whole) is a bounce too', async () => {
    const read = await readMailboxMessage(crlf(exchangeNdr('<devries.2026-00042.pdf-email-1@devries-kantoor.nl>', 'inkoop@klant.nl')));
    assert.equal(read.kind, 'bounce');
    assert.equal(read.kind === 'bounce' && read.bounce.originalMessageId, '<devries.2026-00042.pdf-email-1@devries-kantoor.nl>');
    assert.match(read.kind === 'bounce' ? (read.bounce.diagnostic ?? '') : '', /550 5\.1\.10 RESOLVER\.ADR\.RecipientNotFound/);
  });

  it('a delay notice, an out-of-office and a customer’s reply are not bounces', async () => {
    assert.equal((await readMailboxMessage(crlf(delayNotice('<a.b@c.nl>', 'jan@example.nl')))).kind, 'delayed');
    assert.equal(
      (await readMailboxMessage(crlf('From: jan@example.nl\nAuto-Submitted: auto-replied\nSubject: Afwezig\n\nTot 4 januari weg.\n'))).kind,
      'auto-reply',
    );
    assert.equal((await readMailboxMessage(crlf('From: jan@example.nl\nSubject: Re: Factuur\n\nIs betaald.\n'))).kind, 'other');
  });

  it('the delivery key comes back out of our Message-ID, also for keys with characters safeName escapes', () => {
    for (const key of ['devries.2026-00042.pdf-email-1', 'bakker.1316/85.pdf-email-1', 'jansen.F-ü€.ubl-email-2'])
      assert.equal(keyOfMessageId(`<${safeName(key)}@devries-kantoor.nl>`), key);
    assert.equal(keyOfMessageId('not a message id'), undefined);
  });
});
