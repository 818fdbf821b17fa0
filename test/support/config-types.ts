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

type Json = Record<string, unknown>;

type Branch = { if?: { properties?: Record<string, { const?: string }> }; then?: Json };

/**
 * The schemas check settings that depend on a kind with `if kind = X then …` (so a wrong setting is
 * named against its own kind), which a type generator cannot follow. For the types, each such
 * condition becomes one member of a union told apart by that property, named by the branch's title
 * (SmtpTarget, CsvReader …); and an object allowed one key of several (a transform step) becomes one
 * member per key.
 */
function forTypes(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(forTypes);
  if (!node || typeof node !== 'object') return node;
  // a reference with a description beside it would make the generator copy the referenced type at every
  // use (thousands of lines for the mapping's fields): the type is the reference; the text is for the README
  if ('$ref' in node) return { $ref: (node as Json)['$ref'] };
  const out: Json = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, forTypes(value)]));
  const branches = out['allOf'] as Branch[] | undefined;
  const tag = branches?.[0]?.if?.properties && Object.keys(branches[0].if.properties)[0];
  if (tag && branches.every((b) => b.if?.properties?.[tag]?.const !== undefined && b.then?.['title'])) {
    delete out['allOf'];
    delete out['properties'];
    delete out['required'];
    out['anyOf'] = branches.map(({ if: when, then }) => ({
      ...then,
      required: [tag, ...((then!['required'] as string[] | undefined) ?? [])],
      properties: { ...(then!['properties'] as Json), [tag]: { const: when!.properties![tag]!.const } },
    }));
  }
  if (out['maxProperties'] === 1 && out['additionalProperties'] === false && out['properties']) {
    const properties = out['properties'] as Json;
    return {
      anyOf: Object.entries(properties).map(([key, value]) => ({ type: 'object', additionalProperties: false, required: [key], properties: { [key]: value } })),
    };
  }
  return out;
}

/** schema file → the name of its root type */
const SCHEMAS: Record<string, string> = {
  customers: 'CustomersFile',
  gateway: 'GatewayFile',
  mapping: 'MappingFile',
  sellers: 'SellersFile',
  accounting: 'AccountingFile',
  'mail-templates': 'MailTemplatesFile',
};

export const TYPES_FILE = join(ROOT, 'src', 'config', 'schema-types.ts');

/** The generated file's text. */
export async function configTypes(): Promise<string> {
  const parts = ['// Generated from schemas/*.schema.json by `npm run config-types`; do not edit by hand.\n/* eslint-disable */\n'];
  for (const [name, root] of Object.entries(SCHEMAS)) {
    const schema = forTypes(withKindLists(name, JSON.parse(readFileSync(join(ROOT, 'schemas', `${name}.schema.json`), 'utf-8')) as Json)) as Json;
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
