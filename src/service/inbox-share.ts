import type { NodeRecord } from '../ledger/ledger.js';

/** FNV-1a, 32 bits: cheap, stable across processes and machines (every node must compute the same owner). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // a final mix (MurmurHash3's): names that differ only in their last digits still spread evenly
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/**
 * Which node looks at which inbox file first when several nodes watch one folder. Without it every
 * node stats, offers and tries to claim every file of a burst, and two of three renames lose: three
 * nodes did more work than one. Rendezvous hashing over the nodes that renewed their heartbeat
 * lately (on the database's clock) gives each file one owner that every node agrees on, and moves
 * only the files of a node that joins or leaves. It decides who goes first, never who may: the
 * claim stays the single-winner rename, and a file its owner has not taken in time is anyone's.
 */
export class InboxShare {
  private peers: string[] = [];
  /** counts the changes of `peers` */
  generation = 0;

  constructor(
    private readonly nodeId: string,
    /** a node whose heartbeat is older than this is not given files (it is stalled, or gone) */
    private readonly liveWithinMs: number,
  ) {}

  /** The nodes as the ledger lists them: the live ones that are not paused share the inbox. */
  update(nodes: NodeRecord[]): void {
    const peers = nodes
      .filter((n) => !n.paused && (n.heartbeatAgeMs === undefined || n.heartbeatAgeMs <= this.liveWithinMs))
      .map((n) => n.id)
      .sort();
    if (peers.join('\u0000') === this.peers.join('\u0000')) return;
    this.peers = peers;
    this.generation++;
  }

  /** The nodes that share the inbox now, this one among them (empty until the first update). */
  get sharing(): readonly string[] {
    return this.peers;
  }

  /** True when this node is the one to take the file of this name first; always true alone or when this node is not listed. */
  mine(name: string): boolean {
    if (this.peers.length < 2 || !this.peers.includes(this.nodeId)) return true;
    let owner = '';
    let best = -1;
    for (const peer of this.peers) {
      const score = fnv1a(`${peer}\u0000${name}`);
      if (score > best) {
        best = score;
        owner = peer;
      }
    }
    return owner === this.nodeId;
  }
}
