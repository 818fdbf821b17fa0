import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { prepareAll } from './helpers/config.js';
import { GOLDEN, SAMPLES } from './helpers/paths.js';

/**
 * Golden files: each inbox-sample file in, its canonical JSON out. The expected files were
 * checked by hand once (totals recomputed on paper); UPDATE_GOLDEN=1 rewrites them after a
 * deliberate change, which then needs the same review.
 */
const SAMPLE_FILES = [
  'access/orders_20261130.csv',
  'access/offertes_20261130.csv',
  'erp/facturen_20261130.xml',
  'webshop/orders-20261130-0600.json',
  'members/contributie_2027.csv',
  'ubl/WEB-2026-0415.xml',
];

describe('golden files: inbox-sample → canonical invoices', () => {
  for (const sample of SAMPLE_FILES) {
    it(`maps ${sample} exactly as reviewed`, async () => {
      const file = join(SAMPLES, sample);
      const items = await prepareAll(file, undefined, { folder: basename(dirname(file)) });
      const rejected = items.filter((i) => !i.ok);
      assert.deepEqual(
        rejected.map((r) => !r.ok && r.errors.map((e) => e.describe())),
        [],
        'sample files must map without errors',
      );
      const actual = JSON.parse(JSON.stringify(items.map((i) => (i.ok ? { ...i.invoice, deliveries: i.deliveries } : null))));
      const goldenFile = join(GOLDEN, `${basename(sample)}.json`);
      if (process.env['UPDATE_GOLDEN'] === '1') {
        writeFileSync(goldenFile, `${JSON.stringify(actual, null, 2)}\n`);
      }
      assert.ok(existsSync(goldenFile), `golden file missing: ${goldenFile} (run with UPDATE_GOLDEN=1 and review it)`);
      assert.deepEqual(actual, JSON.parse(readFileSync(goldenFile, 'utf-8')));
    });
  }
});
