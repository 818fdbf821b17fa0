import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder that holds the gateway's package.json (the install or the checkout). */
function findProjectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'schemas'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('invoice-gateway: cannot find its own package folder (package.json + schemas/)');
    dir = parent;
  }
}

/** Root of the installed gateway: schemas/, config/, mappings/ and inbox-sample/ live here. */
export const PROJECT_ROOT = findProjectRoot();
/** The JSON Schemas that check YAML configuration and mappings. */
export const SCHEMA_DIR = join(PROJECT_ROOT, 'schemas');
