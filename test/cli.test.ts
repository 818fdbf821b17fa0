import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { UserStore } from '../src/web/users.js';
import { CLI, ROOT, SAMPLES, tempDir } from './helpers/paths.js';

/** Commands run as a user runs them: a process each (the full suite; the unit loop tests their parts in-process). */
describe('dry-run command', () => {
  it('prints canonical JSON with totals and routes, exit code 0', () => {
    const r = spawnSync(process.execPath, [CLI, 'dry-run', join(SAMPLES, 'access', 'orders_20261130.csv')], { cwd: ROOT, encoding: 'utf-8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { mapping: string; invoices: { totals: { payableAmount: string }; deliveries: unknown[] }[] };
    assert.equal(out.mapping, 'access-orders');
    assert.deepEqual(
      out.invoices.map((i) => i.totals.payableAmount),
      ['2014.97', '36.09', '138.47'],
    );
    assert.equal(out.invoices[0]!.deliveries.length, 3);
  });
  it('exits 1 with the error report on stderr when the file is rejected', () => {
    const r = spawnSync(process.execPath, [CLI, 'dry-run', join(ROOT, 'test', 'fixtures', 'bad', 'access', 'orders_bad.csv')], {
      cwd: ROOT,
      encoding: 'utf-8',
    });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /Invoice 50002 \(mapping access-orders\):\n {2}- line 3, column 'Prijs excl.', field lines\[0\].netPrice: not a number: "12.50" \(it has a decimal point/,
    );
  });
});

describe('console-user command', () => {
  it('`console-user` adds (making up a password shown once), changes, lists and removes users', () => {
    const root = tempDir();
    cpSync(join(ROOT, 'config'), join(root, 'config'), { recursive: true });
    const run = (args: string[], input?: string) =>
      spawnSync(process.execPath, [CLI, 'console-user', ...args, '--config', join(root, 'config'), '--mappings', join(ROOT, 'mappings')], {
        encoding: 'utf8',
        input,
      });
    const added = run(['add', 'anna', '--role', 'operator']);
    assert.equal(added.status, 0, added.stderr);
    const password = /password: (\S+)/.exec(added.stdout)?.[1];
    assert.ok(password && password.length === 16, added.stdout);
    assert.equal(run(['add', 'anna', '--role', 'viewer']).status, 2, 'add does not overwrite (a configuration error)');
    assert.equal(run(['set', 'anna', '--role', 'admin', '--password-stdin'], 'a much longer passphrase\n').status, 0);
    assert.match(run(['list']).stdout, /^anna\tadmin\tnl$/m);
    const store = new UserStore(join(root, 'config', 'console-users.yaml'));
    return store.verify('anna', 'a much longer passphrase').then((user) => {
      assert.equal(user?.role, 'admin');
      assert.equal(run(['remove', 'anna']).status, 0);
      assert.equal(run(['remove', 'anna']).status, 1);
    });
  });
});
