import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, type GatewayConfig } from '../config/load.js';
import { PROJECT_ROOT } from '../paths.js';

/** Options every command takes. */
export interface CommonOptions {
  config?: string;
  mappings?: string;
}

/** The config and mappings folders: given, or ./config and ./mappings, or the ones shipped with the gateway. */
export function configLocation(opts: CommonOptions): { configDir: string; mappingsDir: string } {
  const pick = (given: string | undefined, name: string): string => {
    if (given) return resolve(given);
    const local = resolve(name);
    return existsSync(local) ? local : join(PROJECT_ROOT, name);
  };
  return { configDir: pick(opts.config, 'config'), mappingsDir: pick(opts.mappings, 'mappings') };
}

/** Loads configuration for a command. */
export function loadCommandConfig(opts: CommonOptions): GatewayConfig {
  return loadConfig(configLocation(opts));
}
