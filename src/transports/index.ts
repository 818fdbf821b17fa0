import type { ServiceSettings } from '../config/load.js';
import type { DeliveryRecord } from '../ledger/ledger.js';
import { MailTemplates } from '../mail/compose.js';
import { FolderTransport } from './folder.js';
import { PickupTransport } from './pickup.js';
import { SftpTransport } from './sftp.js';
import { SmtpTransport } from './smtp.js';
import { GraphMailTransport, M365_RECIPIENTS_PER_DAY } from './graph.js';
import { MailQuota, type MailActivity } from './mail-quota.js';
import { PeppolTransport } from './peppol.js';
import { PeppolDirectory } from '../peppol/lookup.js';
import type { KeyValueCache, PeppolBook } from '../ledger/ledger.js';
import { ImapMailbox } from './imap-mailbox.js';
import { TransportError, type Transport } from './transport.js';

/** A mailbox whose new messages can be read once each (for bounces): over IMAP, or over Graph for a Microsoft 365 one. */
export interface Inbox {
  readNew(days: number, look: (raw: Buffer) => Promise<void>): Promise<number>;
}

/** Creates and caches one transport per target; the outbox asks it for the transport of a delivery. */
export class Transports {
  private readonly cache = new Map<string, Transport>();

  private directory?: PeppolDirectory;

  constructor(
    private readonly settings: ServiceSettings,
    private readonly templates: MailTemplates,
    /** where Peppol lookups, submissions and follow-ups are kept, and the mails of the last day counted (the ledger) */
    private readonly keep?: KeyValueCache & PeppolBook & { mailActivity: MailActivity },
  ) {}

  /** The Peppol directory, made on first use, its answers kept in the ledger. */
  peppolDirectory(): PeppolDirectory {
    this.directory ??= new PeppolDirectory(this.settings.peppol, this.keep);
    return this.directory;
  }

  /** The transport for a delivery, by its route's transport and target. */
  for(delivery: DeliveryRecord): Transport {
    const targetName = delivery.transport === 'email' ? this.settings.email.server : delivery.target;
    if (!targetName) throw new TransportError('no mail server: set email.server in gateway.yaml to a target of kind smtp, graph or pickup', true);
    return this.forTarget(targetName);
  }

  /** The transport of a target named in gateway.yaml (also the destination of accounting batch files). */
  forTarget(targetName: string): Transport {
    const cached = this.cache.get(targetName);
    if (cached) return cached;
    const target = this.settings.targets[targetName];
    if (!target) throw new TransportError(`target '${targetName}' is not under targets: in gateway.yaml`, true);
    let transport: Transport;
    if (target.kind === 'folder') transport = new FolderTransport(target.path);
    else if (target.kind === 'pickup') transport = new PickupTransport(target.path, (req) => this.templates.build(req, target));
    else if (target.kind === 'sftp') transport = new SftpTransport(targetName, target);
    else if (target.kind === 'smtp') transport = new SmtpTransport(targetName, target, this.templates, this.quota(targetName, target.recipientsPerDay));
    else if (target.kind === 'graph')
      transport = new GraphMailTransport(targetName, target, this.templates, this.quota(targetName, target.recipientsPerDay ?? M365_RECIPIENTS_PER_DAY));
    else if (target.kind === 'peppol') {
      if (!this.keep) throw new TransportError('Peppol delivery needs the ledger (for its lookups and submission markers)', true);
      transport = new PeppolTransport(targetName, target, this.peppolDirectory(), this.keep);
    } else throw new TransportError(`transport kind '${(target as { kind: string }).kind}' is not available in this gateway`, true);
    this.cache.set(targetName, transport);
    return transport;
  }

  /**
   * The inbox a mail target's bounces come back to (a graph target's own mailbox, an smtp target's
   * `imap:` one) and how often it is to be read (`checkBouncesEvery` as written), or undefined.
   */
  inboxOf(targetName: string): { inbox: Inbox; every?: string } | undefined {
    const target = this.settings.targets[targetName];
    if (target?.kind === 'graph') return { inbox: (this.forTarget(targetName) as GraphMailTransport).inbox(), every: target.checkBouncesEvery };
    if (target?.kind === 'smtp' && target.imap) return { inbox: new ImapMailbox(`target ${targetName}`, target.imap), every: target.imap.checkBouncesEvery };
    return undefined;
  }

  /** A mailbox's daily allowance, counted in the ledger (none without a ledger or a limit). */
  private quota(name: string, perDay: number | undefined): MailQuota | undefined {
    const keep = this.keep;
    return keep && perDay ? new MailQuota(`target ${name}`, perDay, (since) => keep.mailActivity(since)) : undefined;
  }

  async close(): Promise<void> {
    await Promise.all([...this.cache.values()].map((t) => t.close().catch(() => undefined)));
    this.cache.clear();
  }
}
