import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { consoleSettings, usesUblValidation, type GatewayConfig, type ServiceSettings } from '../config/load.js';
import { randomPassword, UserStore } from '../web/users.js';
import { PROJECT_ROOT } from '../paths.js';
import { processEnvironment } from '../environment.js';
import { errorMessage, failureKind, isOutOfSpace } from '../errors.js';
import { missingComponents, standardsInstalled, standardsHome } from '../validation/artefacts.js';
import { installStandards } from '../validation/install.js';
import { buildNode } from '../app.js';
import type { GatewayService } from '../service/gateway.js';
import { consoleFormat, createLogger, type Logger } from '../observability/log.js';
import { loadCommandConfig, type CommonOptions } from './options.js';
import { startupSummary } from './summary.js';

/** Demo mode: everything under <dataDir>/demo, emptied first, with inbox-sample copied into its inbox. */
export function demoSettings(settings: ServiceSettings): ServiceSettings {
  const demoDir = join(settings.dataDir, 'demo');
  const rebase = (path: string): string => {
    const rel = relative(settings.dataDir, path);
    return rel.startsWith('..') ? path : join(demoDir, rel);
  };
  const targets = Object.fromEntries(Object.entries(settings.targets).map(([name, t]) => [name, 'path' in t ? { ...t, path: rebase(t.path) } : t]));
  return {
    ...settings,
    dataDir: demoDir,
    inbox: rebase(settings.inbox),
    targets,
    logging: { ...settings.logging, ...(settings.logging.file ? { file: rebase(settings.logging.file) } : {}) },
    watch: { ...settings.watch, stableForMs: Math.min(settings.watch.stableForMs, 1000) },
  };
}

/** The whole configuration in demo mode: service folders and accounting pick-up folders under data/demo. */
export function demoConfig(config: GatewayConfig): GatewayConfig {
  const service = demoSettings(config.service);
  const accounting = Object.fromEntries(
    Object.entries(config.accounting).map(([name, a]) => {
      const abs = isAbsolute(a.pickupFolder) ? a.pickupFolder : resolve(config.configDir, '..', a.pickupFolder);
      const rel = relative(config.service.dataDir, abs);
      return [name, { ...a, pickupFolder: rel.startsWith('..') ? abs : join(service.dataDir, rel) }];
    }),
  );
  // the demo's console: on this machine only, its users in the demo's own folder (emptied at each start)
  const console = { ...(service.console ?? consoleSettings({}, config.configDir)), usersFile: join(service.dataDir, 'console-users.yaml') };
  return { ...config, service: { ...service, console }, accounting };
}

/** The demo's console: an admin with a password nobody knows, and a link that signs in once. */
async function announceDemoConsole(service: GatewayService): Promise<void> {
  const web = service.webServer;
  const settings = service.config.service.console;
  if (!web || !settings) return;
  const token = web.onceLogins.create('admin');
  const scheme = settings.tls ? 'https' : 'http';
  const address = web.app.server.address();
  const port = address && typeof address === 'object' ? address.port : settings.port;
  process.stdout.write(
    `console: ${scheme}://${settings.host}:${port}/login/once/${token}\n` + '  (a one-time login as admin; under Users, set a password or add people)\n',
  );
}

function seedSamples(inbox: string): number {
  const samples = join(PROJECT_ROOT, 'inbox-sample');
  let count = 0;
  for (const folder of readdirSync(samples)) {
    mkdirSync(join(inbox, folder), { recursive: true });
    for (const name of readdirSync(join(samples, folder))) {
      cpSync(join(samples, folder, name), join(inbox, folder, name));
      count++;
    }
  }
  return count;
}

/**
 * Before any file is taken: the official validation artefacts. The demo installs them (from
 * STANDARDS_MIRROR, else their official addresses); otherwise, or when that fails, one paragraph
 * says what is missing, what it means and the command that fixes it (files with a UBL route wait
 * in the inbox meanwhile; nothing is refused for it).
 */
async function ensureArtefacts(config: GatewayConfig, demo: boolean): Promise<void> {
  if (standardsInstalled() || !usesUblValidation(config)) return;
  let why = `missing: ${missingComponents().join(', ')}`;
  if (demo) {
    process.stdout.write(
      `validation artefacts: not installed yet; installing them from ${processEnvironment().standardsMirror ?? 'their official addresses'} (once)\n`,
    );
    try {
      const result = await installStandards({ progress: (line) => process.stdout.write(`  ${line}\n`) });
      if (standardsInstalled()) {
        process.stdout.write(`validation artefacts: ${result.installed.length} components installed into ${result.target}, every file checked by SHA-256\n`);
        return;
      }
      why = result.failed.map((f) => `${f.component}: ${f.problems[0]}`).join('; ');
    } catch (err) {
      why = errorMessage(err).split('\n')[0]!;
    }
  }
  process.stderr.write(
    [
      '',
      `The official validation artefacts (UBL 2.1, EN 16931, Peppol BIS 3, NLCIUS) are not installed in ${standardsHome()} (${why}).`,
      'Without them no UBL can be checked, so files whose invoices go out as UBL wait in the inbox: nothing is',
      'refused for it and nothing is sent unchecked. Every other file is processed as usual.',
      'Install them, and the waiting files go on by themselves:',
      '  npx invoice-gateway install-standards                 (downloads them from their official addresses)',
      '  npx invoice-gateway install-standards --from <folder|archive|URL>   (without internet; or set STANDARDS_MIRROR)',
      '',
    ].join('\n'),
  );
}

/** `invoice-gateway run`: the service; with --demo, on a fresh copy of inbox-sample with local outputs. */
export async function runCommand(opts: CommonOptions & { demo?: boolean; quiet?: boolean; newLedger?: boolean }): Promise<number> {
  const loaded = loadCommandConfig(opts);
  const config: GatewayConfig = opts.demo ? demoConfig(loaded) : loaded;
  const s = config.service;
  if (opts.demo) {
    if (existsSync(s.dataDir)) rmSync(s.dataDir, { recursive: true, force: true });
    const seeded = seedSamples(s.inbox);
    process.stdout.write(
      `demo: ${seeded} sample files copied into ${relative(process.cwd(), s.inbox) || s.inbox}; outputs appear in ${relative(process.cwd(), resolve(s.dataDir, 'out'))}, processed files in ${relative(process.cwd(), join(s.dataDir, 'archive'))}. Ctrl+C stops.\n`,
    );
  }
  // before the log folder exists: nothing the gateway creates is world-readable, data/ and data/logs/ included
  process.umask(s.umask);
  const log = createLogger({
    level: s.logging.level,
    file: s.logging.file,
    maxSizeMb: s.logging.maxSizeMb,
    maxFiles: s.logging.maxFiles,
    console: !opts.quiet,
  });
  // the last safety net: a failure nobody awaited is logged with its stack, and the service keeps running
  process.on('unhandledRejection', (err) =>
    log.error('unexpected failure (the service keeps running)', { error: errorMessage(err), stack: (err as Error)?.stack }),
  );
  const signals = new StopSignals(log, s.stopWithinMs);
  try {
    await ensureArtefacts(config, opts.demo === true);
    // the demo's admin, with a password nobody knows: the one-time link printed after the start signs in
    if (opts.demo && s.console) await new UserStore(s.console.usersFile).set('admin', { role: 'admin', password: randomPassword(), language: 'en' });
    const service = await startWaiting(config, log, signals, opts.newLedger === true);
    if (!service) return 0;
    if (signals.requested) return await signals.stopped();
    // for people reading the console; JSON lines (under a service manager) stay JSON only
    if (!opts.quiet && consoleFormat() === 'text') process.stdout.write(startupSummary(service));
    if (opts.demo) await announceDemoConsole(service);
    return await signals.stopped();
  } finally {
    signals.dispose();
    await new Promise<void>((r) => {
      // a log file on a full disk may never finish: the exit does not wait for it long
      const timer = setTimeout(r, 2_000);
      log.on('finish', () => {
        clearTimeout(timer);
        r();
      });
      log.end();
    });
  }
}

/** The exit code of a process whose node id another process took over (the unit does not restart it). */
export const EXIT_REPLACED = 3;

/**
 * SIGINT and SIGTERM: the first stops the service within its bound (work not finished by then is
 * left for the next start, which the ledger makes safe); a second one exits at once.
 */
class StopSignals {
  requested?: string;
  service?: GatewayService;
  private readonly listeners: [NodeJS.Signals, () => void][] = [];
  private wakeWaiter?: () => void;

  constructor(
    private readonly log: Logger,
    private readonly stopWithinMs: number,
  ) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const listener = (): void => this.received(signal);
      process.on(signal, listener);
      this.listeners.push([signal, listener]);
    }
  }

  private received(signal: NodeJS.Signals): void {
    if (this.requested) {
      this.log.warn('second signal: exiting now; work under way is resumed by the next start', { signal });
      process.stderr.write(`invoice-gateway: ${signal} again, exiting now\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    this.requested = signal;
    this.log.info('signal received: stopping', { signal, stopWithinSeconds: this.stopWithinMs / 1000 });
    // at once, also while the service is still starting (waiting for its validation helpers, say)
    void this.service?.stop();
    this.wakeWaiter?.();
  }

  /** Resolves once a signal came (at once if one came already). */
  private async signalled(): Promise<void> {
    if (!this.requested) await new Promise<void>((r) => (this.wakeWaiter = r));
  }

  /** Waits for a signal, then stops the service within the bound (a stop that overruns it exits anyway). */
  async stopped(): Promise<number> {
    await this.signalled();
    if (!this.service) return 0;
    // the stop keeps its own bound; this is the last resort should anything in it hang regardless
    const overrun = setTimeout(() => {
      this.log.error('the stop overran its bound; exiting now (work under way is resumed by the next start)', {});
      process.exit(1);
    }, this.stopWithinMs + 15_000);
    overrun.unref();
    await this.service.stop();
    clearTimeout(overrun);
    return 0;
  }

  /** Whether a signal came; for loops that wait (the ledger) to give up. */
  get stopRequested(): boolean {
    return this.requested !== undefined;
  }

  dispose(): void {
    for (const [signal, listener] of this.listeners) process.off(signal, listener);
  }
}

/**
 * Opens and starts the service. While the environment does not allow it (a PostgreSQL ledger out of
 * reach, a full disk under the SQLite ledger) it waits and says so, once: a node started before its
 * database, or on a full disk, is not an error. Undefined when a signal stops the wait.
 */
async function startWaiting(config: GatewayConfig, log: Logger, signals: StopSignals, newLedger: boolean): Promise<GatewayService | undefined> {
  for (let attempt = 1; ; attempt++) {
    let service: GatewayService | undefined;
    try {
      service = await buildNode(config, log, { newLedger });
      if (signals.stopRequested) {
        // a stop asked for while the ledger was being opened is not lost
        await service.stop();
        return undefined;
      }
      signals.service = service;
      service.onReplaced = () => {
        // not a failure a restart mends: the process under this id now is the node
        process.stderr.write(`invoice-gateway: another process runs as node "${config.service.ledger.nodeId}" now; this one exits\n`);
        process.exit(EXIT_REPLACED);
      };
      await service.start();
      return service;
    } catch (err) {
      // worker threads and the ledger would keep the process alive: close them first
      signals.service = undefined;
      await service?.stop().catch(() => undefined);
      // a stop asked for while the service started closed what the start was using: not a failure
      if (signals.stopRequested) return undefined;
      // on SQLite only a full disk heals by itself; a second process or a damaged ledger needs a person
      const waits = failureKind(err) === 'environment' && (config.service.ledger.kind === 'postgres' || isOutOfSpace(err));
      if (!waits) throw err;
      if (attempt === 1)
        log.error(
          config.service.ledger.kind === 'postgres'
            ? 'the ledger cannot be reached; waiting for it (nothing is taken from the inbox meanwhile)'
            : 'the gateway cannot start: its data folder cannot be written (is the disk full?); waiting for it (nothing is taken from the inbox meanwhile)',
          { error: errorMessage(err) },
        );
    }
    for (let waited = 0; waited < 5000 && !signals.stopRequested; waited += 100) await new Promise((r) => setTimeout(r, 100));
    if (signals.stopRequested) return undefined;
  }
}
