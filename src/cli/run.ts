import { configuredRoutes } from '../routing/route.js';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { consoleSettings, type GatewayConfig, type ServiceSettings } from '../config/load.js';
import { randomPassword, UserStore } from '../web/users.js';
import { PROJECT_ROOT } from '../paths.js';
import { errorMessage, failureKind } from '../errors.js';
import { missingComponents, standardsInstalled, STANDARDS_HOME } from '../validation/artefacts.js';
import { installStandards } from '../validation/install.js';
import { GatewayService } from '../service/gateway.js';
import { consoleFormat, createLogger, type Logger } from '../service/log.js';
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
function demoConfig(config: GatewayConfig): GatewayConfig {
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

/** Whether any route of the configuration (or a UBL source folder) needs the UBL validator. */
function usesUbl(config: GatewayConfig): boolean {
  return configuredRoutes(config.customers).some((r) => r.format === 'ubl') || config.mappings.some((m) => m.definition.reader.format === 'ubl');
}

/**
 * Before any file is taken: the official validation artefacts. The demo installs them (from
 * STANDARDS_MIRROR, else their official addresses); otherwise, or when that fails, one paragraph
 * says what is missing, what it means and the command that fixes it (files with a UBL route wait
 * in the inbox meanwhile; nothing is refused for it).
 */
async function ensureArtefacts(config: GatewayConfig, demo: boolean): Promise<void> {
  if (standardsInstalled() || !usesUbl(config)) return;
  let why = `missing: ${missingComponents().join(', ')}`;
  if (demo) {
    process.stdout.write(
      `validation artefacts: not installed yet; installing them from ${process.env['STANDARDS_MIRROR'] || 'their official addresses'} (once)\n`,
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
      `The official validation artefacts (UBL 2.1, EN 16931, Peppol BIS 3, NLCIUS) are not installed in ${STANDARDS_HOME} (${why}).`,
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
export async function runCommand(opts: CommonOptions & { demo?: boolean; quiet?: boolean }): Promise<number> {
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
  await ensureArtefacts(config, opts.demo === true);
  // the demo's admin, with a password nobody knows: the one-time link printed after the start signs in
  if (opts.demo && s.console) await new UserStore(s.console.usersFile).set('admin', { role: 'admin', password: randomPassword(), language: 'en' });
  const service = await openWaiting(config, log);
  if (!service) return 0;
  try {
    await service.start();
  } catch (err) {
    // worker threads and the ledger would keep the process alive: close them, then report
    await service.stop().catch(() => undefined);
    throw err;
  }
  // for people reading the console; JSON lines (under a service manager) stay JSON only
  if (!opts.quiet && consoleFormat() === 'text') process.stdout.write(startupSummary(service));
  if (opts.demo) await announceDemoConsole(service);
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string): void => {
      log.info('signal received', { signal });
      void service.stop().then(resolveStop);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await new Promise<void>((r) => log.on('finish', () => r()).end());
  return 0;
}

/**
 * Opens the service; while a PostgreSQL ledger cannot be reached it waits and says so (a node
 * started before its database is not an error). Undefined when a signal stops the wait.
 */
async function openWaiting(config: GatewayConfig, log: Logger): Promise<GatewayService | undefined> {
  let stopped = false;
  const stop = (): void => {
    stopped = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const service = await GatewayService.open(config, log);
        if (!stopped) return service;
        // a stop asked for while the ledger was being opened is not lost
        await service.stop();
        return undefined;
      } catch (err) {
        if (config.service.ledger.kind !== 'postgres' || failureKind(err) !== 'environment') throw err;
        if (attempt === 1) log.error('the ledger cannot be reached; waiting for it (nothing is taken from the inbox meanwhile)', { error: errorMessage(err) });
      }
      for (let waited = 0; waited < 5000 && !stopped; waited += 100) await new Promise((r) => setTimeout(r, 100));
      if (stopped) return undefined;
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
