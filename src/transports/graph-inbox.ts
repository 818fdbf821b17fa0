import { odata, type GraphClient } from './graph-client.js';

/**
 * The mark a message read for bounces gets: a custom MAPI property of our own (a named string
 * property under the gateway's GUID), which Outlook does not show, where a category or "read" would
 * change what the people working in the mailbox see.
 */
const CHECKED = 'String {ea9dddcc-0b72-4e2f-bbe8-b8acd07ac7dc} Name InvoiceGatewayChecked';

/** Messages may be filed a little out of order: each look goes back this far before the newest one seen. */
const OVERLAP_MS = 15 * 60_000;

interface InboxPage {
  value?: { id: string; receivedDateTime?: string; singleValueExtendedProperties?: { id: string; value: string }[] }[];
  '@odata.nextLink'?: string;
}

/**
 * A Microsoft 365 mailbox's inbox over Graph, read for bounces: Exchange's non-delivery reports come
 * back as MIME (`$value`) in the RFC 3464 form the IMAP reader also reads. Needs the app's
 * Mail.ReadWrite permission (read, and set our mark), which drafts need anyway.
 */
export class GraphInbox {
  /** after the first look: the newest message seen, so a look lists the last minutes, not the last 14 days */
  private newest?: number;

  /** on the mail transport's client: one sign-in, one token for sending and reading */
  constructor(private readonly graph: GraphClient) {}

  /** Each inbox message of the last `days` not read before, as MIME, then marked; how many were read. */
  async readNew(days: number, look: (raw: Buffer) => Promise<void>): Promise<number> {
    const since = new Date(Math.max(Date.now() - days * 86_400_000, (this.newest ?? 0) - OVERLAP_MS)).toISOString();
    const query = new URLSearchParams({
      $filter: `receivedDateTime ge ${since}`,
      $select: 'id,receivedDateTime',
      $expand: `singleValueExtendedProperties($filter=id eq ${odata(CHECKED)})`,
      $top: '50',
    });
    let next: string | undefined = `/mailFolders/inbox/messages?${query.toString()}`;
    const unread: string[] = [];
    let newest = this.newest ?? 0;
    while (next) {
      const { json }: { json: InboxPage } = await this.graph.call<InboxPage>('GET', next);
      for (const m of json.value ?? []) {
        newest = Math.max(newest, Date.parse(m.receivedDateTime ?? '') || 0);
        if (!m.singleValueExtendedProperties?.some((p) => p.id.toLowerCase() === CHECKED.toLowerCase())) unread.push(m.id);
      }
      next = json['@odata.nextLink'];
    }
    for (const id of unread) {
      await look(await this.graph.raw(`/messages/${encodeURIComponent(id)}/$value`));
      await this.graph.call('PATCH', `/messages/${encodeURIComponent(id)}`, { singleValueExtendedProperties: [{ id: CHECKED, value: 'checked' }] });
    }
    // only once every message listed was read and marked: a look cut short lists them all again
    this.newest = newest || undefined;
    return unread.length;
  }
}
