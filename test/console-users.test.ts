import { strict as assert } from 'node:assert';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoginThrottle } from '../src/web/auth.js';
import { formatMoney, translate } from '../src/web/i18n.js';
import { invoiceFilter } from '../src/web/filters.js';
import { ActionError } from '../src/web/console-service.js';
import { allows, UserStore } from '../src/web/users.js';
import { tempDir } from './helpers/paths.js';

/** The console's users, login throttle, filters and texts: no server, no browser. */
describe('console: users, throttle, filters, texts', () => {
  it('stores bcrypt hashes only (mode 0600), verifies passwords, and sees a change made by another process', async () => {
    const file = join(tempDir(), 'users.yaml');
    const store = new UserStore(file);
    await store.set('Anna', { role: 'operator', password: 'correct horse battery' });
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes('correct horse') && /passwordHash: \$2[aby]\$11\$/.test(text), text);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal((await store.verify('anna', 'correct horse battery'))?.role, 'operator', 'names are not case-sensitive');
    assert.equal(await store.verify('anna', 'wrong horse battery'), undefined);
    assert.equal(await store.verify('nobody', 'correct horse battery'), undefined);
    await assert.rejects(store.set('bert', { role: 'viewer', password: 'short' }), /at least 10/);
    await assert.rejects(store.set('bad name!', { role: 'viewer', password: 'long enough 1' }), /not allowed/);
    await assert.rejects(store.set('carla', { password: 'long enough 1' }), /needs a role/);
    // another process (the CLI) rewrites the file: the running console reads it again
    const other = new UserStore(file);
    await other.set('anna', { role: 'viewer' });
    await new Promise((r) => setTimeout(r, 10));
    writeFileSync(file, readFileSync(file, 'utf8'));
    assert.equal(store.get('anna')?.role, 'viewer');
    assert.equal(store.remove('anna'), true);
    assert.equal(new UserStore(file).list().length, 0);
    assert.ok(allows('admin', 'operator') && allows('operator', 'viewer') && !allows('viewer', 'operator') && !allows('operator', 'admin'));
  });

  it('five wrong passwords for a name make it wait 30 s, then twice as long each time; a success resets', () => {
    const throttle = new LoginThrottle();
    const t0 = 1_000_000;
    for (let i = 0; i < 4; i++) throttle.failed('anna', t0);
    assert.equal(throttle.waitFor('anna', t0), 0, 'four mistakes are free');
    throttle.failed('anna', t0);
    assert.equal(throttle.waitFor('ANNA', t0), 30_000);
    assert.equal(throttle.waitFor('bert', t0), 0, 'other names are not held up');
    assert.equal(throttle.waitFor('anna', t0 + 30_000), 0);
    throttle.failed('anna', t0 + 30_000);
    assert.equal(throttle.waitFor('anna', t0 + 30_000), 60_000);
    throttle.succeeded('anna');
    assert.equal(throttle.waitFor('anna', t0 + 30_000), 0);
  });

  it('search filters: dates, amounts as people type them, states; a bad value names its parameter', () => {
    assert.deepEqual(
      invoiceFilter({ number: ' F2026-1 ', customer: 'bakkerij', from: '2026-01-01', min: '1.234,50', max: '99', state: 'issued', before: '40' }),
      {
        before: 40,
        number: 'F2026-1',
        customer: 'bakkerij',
        from: '2026-01-01',
        min: 1234.5,
        max: 99,
        state: 'issued',
      },
    );
    assert.equal(invoiceFilter({ min: '1,234.50' }).min, 1234.5);
    for (const [query, field] of [
      [{ from: '01-02-2026' }, 'from'],
      [{ min: 'veel' }, 'min'],
      [{ state: 'lost' }, 'state'],
      [{ before: '-3' }, 'before'],
    ] as const)
      assert.throws(
        () => invoiceFilter(query),
        (e: unknown) => e instanceof ActionError && e.status === 400 && e.message.startsWith(`${field}:`),
      );
  });

  it('money in Dutch and English notation from exact text; texts in both languages', () => {
    assert.equal(formatMoney('nl', '1234567.5'), '€ 1.234.567,50');
    assert.equal(formatMoney('en', '1234567.5'), '€1,234,567.50');
    assert.equal(formatMoney('nl', '-0.05', 'USD'), '-USD 0,05');
    assert.equal(translate('nl', 'alert.dead-deliveries', { n: 3 }), '3 verzending(en) definitief mislukt');
    assert.equal(translate('en', 'alert.dead-deliveries', { n: 3 }), '3 delivery(ies) failed for good');
  });
});
