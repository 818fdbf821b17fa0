import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pdfFor } from '../src/formats/pdf/index.js';
import { PdfRenderPool } from '../src/formats/pdf/pool.js';
import { WorkerPool } from '../src/workers/pool.js';
import { prepareAll, shippedConfig } from './helpers/config.js';
import { SAMPLES, tempDir } from './helpers/paths.js';

describe('worker threads: the pool, and PDFs rendered on it', function () {
  this.timeout(60_000);

  it('spreads requests, passes errors back, and survives a worker that dies', async () => {
    const pool = new WorkerPool<string, string>(new URL('./helpers/echo-worker.js', import.meta.url), 2, 'echo');
    try {
      assert.deepEqual(await Promise.all(['a', 'b', 'c', 'd'].map((p) => pool.call(p))), ['echo a', 'echo b', 'echo c', 'echo d']);
      await assert.rejects(pool.call('fail'), /asked to fail/);
      const [died, other] = await Promise.allSettled([pool.call('die'), pool.call('e')]);
      assert.equal(died.status, 'rejected');
      assert.match(String((died as PromiseRejectedResult).reason), /the echo thread stopped \(exit code 3\); the request can be retried/);
      assert.deepEqual(other, { status: 'fulfilled', value: 'echo e' }, 'the other worker goes on');
      assert.equal(await pool.call('after'), 'echo after', 'a new worker takes the place of the dead one');
    } finally {
      await pool.close();
    }
    await assert.rejects(pool.call('x'), /closed/);
  });

  it('renders the same PDF on a thread as on the main thread', async () => {
    const config = shippedConfig();
    const item = (await prepareAll(join(SAMPLES, 'access', 'orders_20261130.csv'), undefined, { folder: 'access' })).find((i) => i.ok);
    assert.ok(item && item.ok);
    const invoice = { ...item.invoice, number: '2026-00011' };
    const pool = new PdfRenderPool(2, config.sellers.sellers, config.configDir);
    const dir = tempDir('igw-pool-');
    try {
      const [threaded, many] = await Promise.all([
        pool.render(invoice, { language: 'nl' }),
        Promise.all(Array.from({ length: 8 }, () => pool.render(invoice, { language: 'en' }))),
      ]);
      const local = await pdfFor(invoice, { language: 'nl' }, config.sellers.sellers, config.configDir);
      const text = (pdf: Buffer, name: string) => {
        writeFileSync(join(dir, name), pdf);
        return spawnSync('pdftotext', ['-layout', join(dir, name), '-'], { encoding: 'utf-8' }).stdout;
      };
      assert.equal(text(threaded, 'threaded.pdf'), text(local, 'local.pdf'));
      assert.equal(Math.abs(threaded.length - local.length) < 64, true, 'the same document, up to its timestamps');
      assert.ok(many.every((pdf) => text(pdf, 'en.pdf').includes('Invoice number')));
    } finally {
      await pool.close();
    }
  });
});
