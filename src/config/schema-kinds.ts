import { UBL_PROFILES } from '../formats/ubl/profiles.js';
import { OUTPUT_FORMATS } from '../kinds/formats.js';
import { READERS } from '../kinds/readers.js';
import { TRANSPORTS } from '../kinds/transports.js';

type Json = Record<string, unknown>;

/** The schema node at a path of property names (created nowhere: a missing step is a bug in the schema files). */
function at(schema: Json, path: string[]): Json {
  let node: unknown = schema;
  for (const step of path) {
    node = (node as Json | undefined)?.[step];
    if (!node || typeof node !== 'object') throw new Error(`schema: no ${path.join('/')} (the lists of kinds are filled in there)`);
  }
  return node as Json;
}

/**
 * The lists of kinds in each schema: the gateway's descriptors own them, so a schema always offers
 * exactly the formats, transports, profiles and readers the code has. The schema files carry the
 * same lists for editors; a test keeps them equal.
 */
export function kindLists(name: string): { path: string[]; values: string[] }[] {
  switch (name) {
    case 'customers':
      return [
        { path: ['$defs', 'format'], values: OUTPUT_FORMATS.map((f) => f.name) },
        { path: ['$defs', 'transport'], values: TRANSPORTS.map((t) => t.name) },
        { path: ['$defs', 'ublProfile'], values: Object.keys(UBL_PROFILES) },
      ];
    case 'mapping':
      return [{ path: ['properties', 'reader', 'properties', 'format'], values: READERS.map((r) => r.name) }];
    case 'gateway':
      return [
        { path: ['properties', 'targets', 'additionalProperties', 'properties', 'kind'], values: [...new Set(TRANSPORTS.flatMap((t) => t.targetKinds))] },
      ];
    default:
      return [];
  }
}

/** The schema with its lists of kinds taken from the descriptors. */
export function withKindLists(name: string, schema: Json): Json {
  for (const { path, values } of kindLists(name)) at(schema, path)['enum'] = values;
  return schema;
}

/** The enum a schema file itself writes at a kind list's place (what an editor offers). */
export function writtenList(schema: Json, path: string[]): unknown {
  return at(schema, path)['enum'];
}
