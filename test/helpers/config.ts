import { join } from 'node:path';
import { loadConfig, type GatewayConfig } from '../../src/config/load.js';
import { prepareFile, type PreparedInvoice } from '../../src/service/prepare.js';
import { ROOT } from './paths.js';

let shipped: GatewayConfig | undefined;

/** The configuration shipped in config/ and mappings/, loaded once. */
export function shippedConfig(): GatewayConfig {
  shipped ??= loadConfig({ configDir: join(ROOT, 'config'), mappingsDir: join(ROOT, 'mappings') });
  return shipped;
}

/** Every prepared item of a file, collected (small files only). */
export async function prepareAll(file: string, config = shippedConfig(), options: { folder?: string; mapping?: string } = {}): Promise<PreparedInvoice[]> {
  const out: PreparedInvoice[] = [];
  for await (const item of prepareFile(file, config, options)) out.push(item);
  return out;
}
