import { errorMessage, failureKind, NodeReplacedError } from '../errors.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../observability/log.js';
import { OutageLog } from '../util/outage.js';

/** What the node does when its heartbeat learns something. */
export interface HeartbeatEvents {
  /** why the intake is paused (a full disk), told to the other nodes with the heartbeat */
  paused(): string | undefined;
  /** after each renewal that went through: take over the work of nodes that stopped renewing */
  renewed(): Promise<void>;
  /** the shared ledger answers again after an outage */
  reachableAgain(): void;
  /** another process runs under this node id: this one must take and send nothing more */
  replaced(err: NodeReplacedError): void;
}

/** How often a node renews its leases and heartbeat: a third of the lease, at most every 2 s. */
export function heartbeatEveryMs(leaseMs: number): number {
  return Math.max(200, Math.min(2000, Math.floor(leaseMs / 3)));
}

/**
 * This node's leases and heartbeat: renewed every third of the lease time (at most every 2 s, so a
 * node paused for its ledger notices soon that it is back). When a shared ledger cannot be reached
 * the node is paused (`down` says why) until a renewal goes through again.
 */
export class NodeHeartbeat {
  private timer?: NodeJS.Timeout;
  private renewing = false;
  private readonly outage: OutageLog;
  /** why the shared ledger is unreachable; undefined while it answers */
  down?: string;

  constructor(
    private readonly ledger: Ledger,
    private readonly leaseMs: number,
    private readonly log: Logger,
    private readonly events: HeartbeatEvents,
  ) {
    this.outage = new OutageLog(log, 'leases and heartbeat');
  }

  start(): void {
    this.timer = setInterval(() => void this.renew(), heartbeatEveryMs(this.leaseMs));
  }

  /** A file went through: the ledger answers, whatever the last renewal said. */
  answered(): void {
    this.down = undefined;
  }

  private async renew(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    try {
      const paused = this.events.paused();
      await this.ledger.renewLeases(paused ? { paused } : {});
      this.outage.ok();
      if (this.down) {
        this.log.info('ledger reachable again: node resumes taking files and sending', { node: this.ledger.nodeId });
        this.down = undefined;
        this.events.reachableAgain();
      }
      await this.events.renewed();
    } catch (err) {
      if (err instanceof NodeReplacedError) {
        this.halt();
        this.events.replaced(err);
        return;
      }
      if (failureKind(err) !== 'environment' || this.ledger.singleNode) {
        // one node on SQLite: a heartbeat that cannot be written (a full disk) is said once; the files and sends wait on their own
        this.outage.failed(err);
      } else if (!this.down) {
        this.down = errorMessage(err);
        this.log.error('ledger unreachable: node paused (no file is claimed, nothing is sent); it resumes by itself', {
          node: this.ledger.nodeId,
          error: this.down,
        });
      }
    } finally {
      this.renewing = false;
    }
  }

  /** No more renewals (a renewal under way may still finish: see `stop`). */
  halt(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops renewing and waits for a renewal under way to end. */
  async stop(): Promise<void> {
    this.halt();
    while (this.renewing) await new Promise((r) => setTimeout(r, 20));
  }
}
