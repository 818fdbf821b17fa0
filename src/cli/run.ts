import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { GatewayConfig, ServiceSettings } from '../config/load.js';
import { PROJECT_ROOT } from '../paths.js';
import { errorMessage } from '../errors.js';
import { GatewayService } from '../service/gateway.js';
import { createLogger } from '../service/log.js';
import { loadCommandConfig, type CommonOptions } from './options.js';

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
  return { ...config, service, accounting };
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
  const service = new GatewayService(config, log);
  try {
    await service.start();
  } catch (err) {
    // worker threads and the ledger would keep the process alive: close them, then report
    await service.stop().catch(() => undefined);
    throw err;
  }
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
