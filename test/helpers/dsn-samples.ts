/** The bounce Postfix sends back to the envelope sender when the recipient's server refuses the address (RFC 3464). */
export function postfixBounce(messageId: string, recipient: string): string {
  return `Return-Path: <>
From: MAILER-DAEMON@mail.devries-kantoor.nl (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: facturen@devries-kantoor.nl
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="8A1B2C3D4E.1796678400/mail.devries-kantoor.nl"
Message-Id: <20261207120000.8A1B2C3D4E@mail.devries-kantoor.nl>
Date: Mon,  7 Dec 2026 12:00:00 +0000 (UTC)

This is a MIME-encapsulated message.

--8A1B2C3D4E.1796678400/mail.devries-kantoor.nl
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.devries-kantoor.nl.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<${recipient}>: host mx.example.nl[192.0.2.25] said: 550 5.1.1
    <${recipient}>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

--8A1B2C3D4E.1796678400/mail.devries-kantoor.nl
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.devries-kantoor.nl
X-Postfix-Queue-ID: 8A1B2C3D4E
X-Postfix-Sender: rfc822; facturen@devries-kantoor.nl
Arrival-Date: Mon,  7 Dec 2026 11:59:58 +0000 (UTC)

Final-Recipient: rfc822; ${recipient}
Original-Recipient: rfc822;${recipient}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.nl
Diagnostic-Code: smtp; 550 5.1.1 <${recipient}>: Recipient address rejected:
    User unknown in virtual mailbox table

--8A1B2C3D4E.1796678400/mail.devries-kantoor.nl
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <facturen@devries-kantoor.nl>
From: TV De Lobbers <penningmeester@tvdelobbers.nl>
To: ${recipient}
Subject: Contributie
Message-ID: ${messageId}
Date: Mon, 07 Dec 2026 11:59:57 +0000

--8A1B2C3D4E.1796678400/mail.devries-kantoor.nl--
`;
}

/** An Exchange Online non-delivery report (NDR) for one of our mails: multipart/report, the original returned whole. */
export function exchangeNdr(messageId: string, recipient: string): string {
  return `From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@devries-kantoor.nl>
To: <facturen@devries-kantoor.nl>
Subject: Undeliverable: Factuur 2026-00042
Auto-Submitted: auto-replied
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="b7a0e6c1-ndr"
MIME-Version: 1.0
Message-ID: <e0a1f9e1-ndr@AM9PR01MB1234.eurprd01.prod.exchangelabs.com>

--b7a0e6c1-ndr
Content-Type: text/plain; charset="us-ascii"

Your message to ${recipient} couldn't be delivered.
${recipient.split('@')[0]} wasn't found at ${recipient.split('@')[1]}.

--b7a0e6c1-ndr
Content-Type: message/delivery-status

Reporting-MTA: dns;AM9PR01MB1234.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;AM9PR01MB1234.eurprd01.prod.exchangelabs.com
Arrival-Date: Mon, 7 Dec 2026 12:00:00 +0000

Original-Recipient: rfc822;${recipient}
Final-Recipient: rfc822;${recipient}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

--b7a0e6c1-ndr
Content-Type: message/rfc822

From: De Vries <facturen@devries-kantoor.nl>
To: ${recipient}
Subject: Factuur 2026-00042
Message-ID: ${messageId}
MIME-Version: 1.0
Content-Type: text/plain

Factuur in de bijlage.

--b7a0e6c1-ndr--
`;
}

/** A delay notice (Action: delayed): the mail may still arrive, so it is no bounce. */
export function delayNotice(messageId: string, recipient: string): string {
  return postfixBounce(messageId, recipient).replace('Action: failed', 'Action: delayed').replace('Status: 5.1.1', 'Status: 4.4.1');
}
