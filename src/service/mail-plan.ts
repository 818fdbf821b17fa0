import type { ServiceSettings } from '../config/load.js';
import type { Ledger } from '../ledger/ledger.js';
import { recipients } from '../mail/addresses.js';
import { M365_MESSAGES_PER_MINUTE, M365_RECIPIENTS_PER_DAY } from '../transports/graph.js';
import { DAY_MS } from '../transports/mail-quota.js';

/** Where the mails of a mailbox with a daily limit stand, and when the waiting ones will have gone. */
export interface MailPlan {
  target: string;
  recipientsPerDay: number;
  /** recipients of the last 24 hours */
  used: number;
  /** mails waiting to go */
  waiting: number;
  /** of those, how many fit in the allowance now */
  fitNow: number;
  perMinute: number;
  /** when the ones that fit now will have gone (at the mailbox's pace) */
  fitNowDoneAt?: string;
  /** the rest goes from here on (the oldest mail of the window is then 24 hours old) */
  restFrom?: string;
  /** the plan in a sentence, for status and the console */
  text: string;
}

/**
 * The plan of the mail server's mailbox when it has a daily limit (a Microsoft 365 mailbox, or an
 * SMTP account with recipientsPerDay): "2,400 of 10,000 recipients in the last 24 hours; 12,000
 * waiting: 7,600 today (done about 13:10), the rest from tomorrow 09:00". Undefined without one.
 */
export async function mailPlan(settings: ServiceSettings, ledger: Pick<Ledger, 'mailActivity'>, now = Date.now()): Promise<MailPlan | undefined> {
  const name = settings.email.server;
  const target = name ? settings.targets[name] : undefined;
  if (!name || !target || (target.kind !== 'graph' && target.kind !== 'smtp')) return undefined;
  const limit = target.recipientsPerDay ?? (target.kind === 'graph' ? M365_RECIPIENTS_PER_DAY : undefined);
  if (!limit) return undefined;
  const perMinute = target.messagesPerMinute || (target.kind === 'graph' ? M365_MESSAGES_PER_MINUTE : 0);
  // each mail goes to the customer and to the archive Bcc, if one is set
  const perMail = 1 + recipients(target.bcc).length;
  const { sent, first, waiting } = await ledger.mailActivity(new Date(now - DAY_MS).toISOString());
  const used = sent * perMail;
  const fitNow = Math.min(waiting, Math.max(0, Math.floor((limit - used) / perMail)));
  const fitNowDoneAt = fitNow && perMinute ? new Date(now + (fitNow / perMinute) * 60_000).toISOString() : undefined;
  const restFrom = waiting > fitNow ? new Date(Math.max(now, (first ? Date.parse(first) : now) + DAY_MS)).toISOString() : undefined;
  const fmt = (n: number): string => n.toLocaleString('en-US');
  const time = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
  const text =
    `${fmt(used)} of ${fmt(limit)} recipients in the last 24 hours from ${name}; ${fmt(waiting)} mail(s) waiting` +
    (waiting
      ? `: ${fmt(fitNow)} now${fitNowDoneAt ? ` (done about ${time(fitNowDoneAt)} at ${perMinute} a minute)` : ''}${restFrom ? `, the rest from ${time(restFrom)}` : ''}`
      : '');
  return {
    target: name,
    recipientsPerDay: limit,
    used,
    waiting,
    fitNow,
    perMinute,
    ...(fitNowDoneAt ? { fitNowDoneAt } : {}),
    ...(restFrom ? { restFrom } : {}),
    text,
  };
}
