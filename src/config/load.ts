import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConfigError } from '../errors.js';
import { loadMapping, type CompiledMapping } from '../mapping/compile.js';
import type { CustomersConfig, SellersConfig } from './types.js';
import { ConfigErrors, loadYaml } from './yaml-file.js';

/** Everything the gateway reads from config/ and mappings/. */
export interface GatewayConfig {
  configDir: string;
  mappingsDir: string;
  sellers: SellersConfig;
  customers: CustomersConfig;
  mappings: CompiledMapping[];
}

/** Where the configuration lives; both default to the folders shipped with the gateway. */
export interface ConfigLocation {
  configDir: string;
  mappingsDir: string;
}

function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

/** Gives YAML numbers that are really identifiers (KvK 12345678) back their text form. */
function normaliseIdentifiers(sellers: SellersConfig, customers: CustomersConfig): void {
  const fix = (id: unknown): string => String(id);
  for (const party of [...Object.values(sellers.sellers), ...Object.values(customers.customers ?? {}).map((c) => c.party)]) {
    if (party.legalId) party.legalId.id = fix(party.legalId.id);
    if (party.endpoint) party.endpoint.id = fix(party.endpoint.id);
    for (const ident of party.identifiers ?? []) ident.id = fix(ident.id);
  }
}

/** Loads and checks every YAML file, collecting all errors before failing (so one run shows them all). */
export function loadConfig(location: ConfigLocation): GatewayConfig {
  const errors: ConfigError[] = [];
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ConfigErrors) errors.push(...err.errors);
      else if (err instanceof ConfigError) errors.push(err);
      else throw err;
      return undefined;
    }
  };
  const sellersFile = join(location.configDir, 'sellers.yaml');
  const customersFile = join(location.configDir, 'customers.yaml');
  const sellers = attempt(() => loadYaml<SellersConfig>(sellersFile, 'sellers', display(sellersFile)).value);
  const customers = existsSync(customersFile)
    ? attempt(() => loadYaml<CustomersConfig>(customersFile, 'customers', display(customersFile)).value)
    : {};
  const mappings: CompiledMapping[] = [];
  if (!existsSync(location.mappingsDir)) {
    errors.push(new ConfigError('the mappings folder does not exist', { file: display(location.mappingsDir) }));
  } else {
    for (const name of readdirSync(location.mappingsDir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
      const file = join(location.mappingsDir, name);
      const mapping = attempt(() => loadMapping(file, display(file)));
      if (mapping) mappings.push(mapping);
    }
  }
  if (errors.length) throw new ConfigErrors(errors);
  normaliseIdentifiers(sellers!, customers!);
  return { ...location, sellers: sellers!, customers: customers!, mappings };
}
