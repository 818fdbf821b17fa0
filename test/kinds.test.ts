import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kindLists, writtenList } from '../src/config/schema-kinds.js';
import { parseYaml } from '../src/config/yaml-file.js';
import { OUTPUT_FORMATS } from '../src/kinds/formats.js';
import { TRANSPORTS } from '../src/kinds/transports.js';
import { ROOT } from './helpers/paths.js';

describe('kinds: formats, transports and readers described once', () => {
  it('each schema file writes the lists the descriptors hold (what an editor offers is what the gateway takes)', () => {
    for (const name of ['customers', 'mapping', 'gateway']) {
      const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', `${name}.schema.json`), 'utf-8')) as Record<string, unknown>;
      const lists = kindLists(name);
      assert.ok(lists.length > 0);
      for (const { path, values } of lists) assert.deepEqual(writtenList(schema, path), values, `${name}.schema.json ${path.join('/')}`);
    }
  });

  it('a route is checked against the descriptors: every format and transport they name is taken, another is refused with the list', () => {
    for (const format of OUTPUT_FORMATS)
      for (const transport of TRANSPORTS) {
        const yaml = `defaults:\n  routes:\n    - format: ${format.name}\n      transport: ${transport.name}\n`;
        assert.doesNotThrow(() => parseYaml(yaml, 'customers', 'customers.yaml'), `${format.name} over ${transport.name}`);
      }
    // a fallback route uses the same lists (they are written once in the schema)
    assert.throws(
      () =>
        parseYaml(
          'customers:\n  "1":\n    party: { name: A }\n    routes:\n      - format: ubl\n        transport: peppol\n        fallback: { format: edifact, transport: email }\n',
          'customers',
          'customers.yaml',
        ),
      (err: Error) => /format/.test(err.message) && /pdf/.test(err.message),
    );
  });

  it('an output format carries its file extension and whether it is batched', () => {
    const batched = OUTPUT_FORMATS.filter((f) => f.batched).map((f) => f.name);
    assert.deepEqual(batched, ['exact-online', 'exact-globe', 'accountview']);
    for (const f of OUTPUT_FORMATS) assert.match(f.extension, /^[a-z]+$/);
  });
});

describe('config types generated from the schemas', () => {
  it('src/config/schema-types.ts is what the schemas (with the kinds) give today: run `npm run config-types` after changing a schema', async () => {
    const { configTypes, TYPES_FILE } = await import('./support/config-types.js');
    const prettier = await import('prettier');
    const expected = await prettier.format(await configTypes(), { ...(await prettier.resolveConfig(TYPES_FILE)), filepath: TYPES_FILE });
    assert.equal(readFileSync(TYPES_FILE, 'utf-8'), expected);
  });
});

describe('the mapping reference in the README, generated from the schema', () => {
  it('every mapping key has a description, and README.md holds the reference the schema gives today: run `npm run docs:mapping` after changing it', async () => {
    const { mappingReference, readmeWithReference, README } = await import('./support/mapping-reference.js');
    assert.deepEqual(mappingReference().missing, [], 'keys without a description in schemas/mapping.schema.json');
    const current = readFileSync(README, 'utf-8');
    assert.equal(current, readmeWithReference(current));
  });
});
