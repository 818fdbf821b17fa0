/**
 * The TypeScript types of the YAML configuration, generated from its JSON Schemas (with the lists of
 * kinds the descriptors hold), so the code's view of a customers.yaml, gateway.yaml or mapping
 * cannot drift from what the schema lets through.
 *   npm run config-types   writes src/config/schema-types.ts
 * A unit test regenerates it and fails when the file is not current.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from 'json-schema-to-typescript';
import { withKindLists } from '../../src/config/schema-kinds.js';
import { ROOT } from '../helpers/paths.js';

/** schema file → the name of its root type */
const SCHEMAS: Record<string, string> = { customers: 'CustomersFile', gateway: 'GatewayFile', mapping: 'MappingFile' };

export const TYPES_FILE = join(ROOT, 'src', 'config', 'schema-types.ts');

/** The generated file's text. */
export async function configTypes(): Promise<string> {
  const parts = ['// Generated from schemas/*.schema.json by `npm run config-types`; do not edit by hand.\n/* eslint-disable */\n'];
  for (const [name, root] of Object.entries(SCHEMAS)) {
    const schema = withKindLists(name, JSON.parse(readFileSync(join(ROOT, 'schemas', `${name}.schema.json`), 'utf-8')) as Record<string, unknown>);
    // each file's types in a namespace of their own: the three schemas share names (Identifier, Address)
    const body = await compile({ ...schema, title: root } as never, root, {
      bannerComment: '',
      additionalProperties: false,
      ignoreMinAndMaxItems: true,
      format: false,
    });
    parts.push(`export namespace ${root}Schema {\n${body.trim()}\n}\n`);
  }
  return parts.join('\n');
}

if (process.argv[1]?.endsWith('config-types.js') && process.argv.includes('--write')) {
  writeFileSync(TYPES_FILE, await configTypes());
  process.stdout.write(`wrote ${TYPES_FILE}\n`);
}
