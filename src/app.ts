import { mkdirSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { GatewayConfig } from './config/load.js';
import { ConfigError } from './errors.js';
import { configureFormats } from './formats/index.js';
import { openLedger, type OpenLedger } from './ledger/open.js';
import { MailTemplates } from './mail/compose.js';
import type { Logger } from './observability/log.js';
import { GatewayMetrics } from './observability/metrics.js';
import { PeppolFollowUp } from './peppol/follow-up.js';
import { BounceWatch } from './service/bounce-watch.js';
import { ExportBatcher } from './service/exports.js';
import { Folders } from './service/folders.js';
import { GatewayService } from './service/gateway.js';
import { Issuer } from './service/issuing.js';
import { Outbox } from './service/outbox.js';
import { FileProcessor } from './service/process-file.js';
import { Scheduler } from './service/scheduler.js';
import { Transports } from './transports/index.js';
import { UblGate } from './validation/gate.js';
import { MappingThreads } from './workers/mapping-threads.js';

/** Everything a node is made of, built from the configuration in one place (`buildNode`). */
export interface NodeParts {
  config: GatewayConfig;
  log: Logger;
  opened: OpenLedger;
  folders: Folders;
  transports: Transports;
  metrics: GatewayMetrics;
  gate: UblGate;
  outbox: Outbox;
  /** tells the outbox that new deliveries are due (a no-op when this node does not deliver) */
  wake: () => void;
  issuer: Issuer;
  mappingThreads: MappingThreads;
  processor: FileProcessor;
  scheduler: Scheduler;
  exports: ExportBatcher;
  peppolFollowUp: PeppolFollowUp;
  bounces: BounceWatch;
}

/**
 * A ledger that is missing or empty while the data folder shows earlier work (archived, refused or
 * duplicate files) was lost or emptied, not new: starting on it would number from 00001 again and
 * issue numbers a customer and the accounting package already have. Refused unless told otherwise.
 */
function refuseLostLedger(ledgerFile: string, dataDir: string): void {
  let size: number;
  try {
    size = statSync(ledgerFile).size;
  } catch {
    size = -1;
  }
  if (size > 0) return;
  const earlier = ['archive', 'error', 'duplicates'].map((d) => join(dataDir, d)).find((dir) => holdsAFile(dir));
  if (!earlier) return;
  throw new ConfigError(
    `the ledger ${ledgerFile} is ${size < 0 ? 'missing' : 'empty (0 bytes)'}, but ${earlier} holds files processed before: starting would number invoices from the first number again (duplicate numbers) and send again what was sent. Restore the ledger from its backup; if this really is a fresh start, move ${dataDir} aside or start once with --new-ledger`,
    { file: ledgerFile },
  );
}

function holdsAFile(dir: string): boolean {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  return entries.some((e) => e.isFile() || (e.isDirectory() && holdsAFile(join(dir, e.name))));
}

/**
 * The composition root: opens the configured ledger (SQLite with its process lock, or PostgreSQL)
 * and builds a node on it from the configuration. The one place that knows which part needs which.
 */
export async function buildNode(config: GatewayConfig, log: Logger, options: { deliver?: boolean; newLedger?: boolean } = {}): Promise<GatewayService> {
  const s = config.service;
  // the ledger holds whole invoices, the logs customer names: nothing the gateway creates is world-readable
  process.umask(s.umask);
  mkdirSync(s.dataDir, { recursive: true });
  const folders = new Folders(s);
  if (s.ledger.kind === 'sqlite' && !options.newLedger) refuseLostLedger(folders.ledgerFile(), s.dataDir);
  // a large SQLite ledger's integrity check, or a PostgreSQL server far away, takes a moment: said, not silent
  const opening = Date.now();
  log.info('opening the ledger', { ledger: s.ledger.kind === 'sqlite' ? folders.ledgerFile() : 'postgres' });
  const opened = await openLedger(s.ledger, folders.ledgerFile(), 'service');
  log.info('ledger open', { seconds: Math.round((Date.now() - opening) / 100) / 10 });
  try {
    // with several nodes on one share, every log line says which node wrote it
    const nodeLog = s.ledger.kind === 'postgres' ? log.child({ node: opened.ledger.nodeId }) : log;
    return new GatewayService(parts(config, nodeLog, opened, folders, options.deliver !== false));
  } catch (err) {
    await opened.close();
    throw err;
  }
}

/** The node's parts on an open ledger. */
function parts(config: GatewayConfig, log: Logger, opened: OpenLedger, folders: Folders, deliver: boolean): NodeParts {
  const s = config.service;
  const ledger = opened.ledger;
  configureFormats(config.sellers.sellers, config.configDir, s.outbox.renderThreads);
  const transports = new Transports(s, new MailTemplates(config.configDir), ledger);
  const metrics = new GatewayMetrics(ledger);
  const gate = new UblGate(log, metrics, s.validation);
  const outbox = new Outbox(ledger, transports, s.outbox, log, gate, metrics);
  const wake = deliver ? () => outbox.wake() : () => undefined;
  const issuer = new Issuer(config, gate, undefined, () => transports.peppolDirectory());
  const mappingThreads = new MappingThreads(config, s.mappingDeadlines);
  mappingThreads.onThreadStopped = (why) => log.warn('a mapping thread stopped; the file is mapped on the main thread instead', { error: why });
  const processor = new FileProcessor(config, ledger, folders, log, issuer, wake, (path, options) => mappingThreads.prepare(path, options));
  return {
    config,
    log,
    opened,
    folders,
    transports,
    metrics,
    gate,
    outbox,
    wake,
    issuer,
    mappingThreads,
    processor,
    scheduler: new Scheduler(ledger, issuer, folders, s.scheduler.checkEveryMs, log, wake),
    exports: new ExportBatcher(config, ledger, log, () => false, transports),
    peppolFollowUp: new PeppolFollowUp(ledger, transports, log, s.peppol.followUpEveryMs),
    bounces: new BounceWatch(s, ledger, log, transports),
  };
}
