import { hostname } from 'node:os';
import type { LedgerSettings } from '../config/load.js';
import { ConfigError } from '../errors.js';
import type { Ledger } from './ledger.js';
import { LedgerLock } from './sql/lock.js';
import { PostgresLedger } from './postgres.js';
import { SqliteLedger } from './sqlite.js';

/** An open ledger and what to do when done with it (close it, and release the SQLite process lock). */
export interface OpenLedger {
  ledger: Ledger;
  close(): Promise<void>;
}

/** Whether a process of this host is alive (a node id's earlier process may have died without a word). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Opens the ledger the settings name: SQLite in the data folder (one node; a running service
 * holds the process lock) or PostgreSQL (several nodes; each needs its own node id).
 * `role: 'service'` is a gateway node; 'command' is status, retry, resend: they only read or queue.
 */
export async function openLedger(settings: LedgerSettings, sqliteFile: string, role: 'service' | 'command'): Promise<OpenLedger> {
  const lease = { nodeId: role === 'service' ? settings.nodeId : `${settings.nodeId}/cli-${process.pid}`, leaseMs: settings.leaseMs };
  if (settings.kind === 'sqlite') {
    const lock = role === 'service' ? LedgerLock.acquire(sqliteFile) : undefined;
    try {
      const ledger = new SqliteLedger(sqliteFile, lease);
      return {
        ledger,
        close: async () => {
          await ledger.close();
          lock?.release();
        },
      };
    } catch (err) {
      lock?.release();
      throw err;
    }
  }
  if (!settings.url) throw new ConfigError('ledger.kind is postgres but ledger.url is not set', { field: 'ledger.url' });
  const ledger = await PostgresLedger.open({ url: settings.url, poolSize: settings.poolSize }, lease);
  if (role === 'service') {
    try {
      await refuseTwin(ledger, settings);
    } catch (err) {
      await ledger.close();
      throw err;
    }
  }
  return { ledger, close: () => ledger.close() };
}

/**
 * Two processes with one node id would release each other's work at start: the id of a node
 * that is alive (its heartbeat fresh, and on this host its process running) is refused.
 */
async function refuseTwin(ledger: Ledger, settings: LedgerSettings): Promise<void> {
  const twin = await ledger.claimNodeId();
  if (!twin) return;
  // the same host and a process that is gone: this node's own earlier run, stopped without signing off
  if (twin.host === hostname() && !alive(twin.pid)) {
    await ledger.claimNodeId({ replace: true });
    return;
  }
  // a configuration mistake, not an outage: the node does not wait for it to pass
  throw new ConfigError(
    `another gateway node with the id "${settings.nodeId}" is running (process ${twin.pid} on ${twin.host}, heard from ${twin.heartbeatAt}); give every node its own id (IGW_NODE_ID or ledger.nodeId)`,
    { field: 'ledger.nodeId' },
  );
}
