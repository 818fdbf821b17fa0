import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { consoleFormat } from '../src/observability/log.js';
import { readEnvironment } from '../src/environment.js';
import { CLI, ROOT, tempDir } from './helpers/paths.js';
import { membersCsv, stopService, waitFor, workspace } from './helpers/service.js';

/** A systemd unit file as sections of key → values (a key may repeat); comments kept apart. */
function parseUnit(text: string): { sections: Map<string, Map<string, string[]>>; comments: string[] } {
  const sections = new Map<string, Map<string, string[]>>();
  const comments: string[] = [];
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#') || line.startsWith(';')) comments.push(line);
    else if (/^\[.+\]$/.test(line)) sections.set(line.slice(1, -1), (current = new Map()));
    else {
      const eq = line.indexOf('=');
      assert.ok(current && eq > 0, `a key=value line inside a section: ${line}`);
      const key = line.slice(0, eq);
      current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
    }
  }
  return { sections, comments };
}

const UNIT = join(ROOT, 'deploy', 'invoice-gateway.service');

describe('running as a service: the systemd unit, JSON logs on stdout, --version', function () {
  this.timeout(60_000);

  it('the unit runs the gateway as its own user, restarts it on failure, stops it with SIGTERM, and is hardened', () => {
    const { sections, comments } = parseUnit(readFileSync(UNIT, 'utf8'));
    const service = sections.get('Service')!;
    const one = (key: string) => service.get(key)?.at(-1);
    assert.match(one('ExecStart')!, /\/dist\/src\/cli\/main\.js run --config \S+ --mappings \S+$/);
    assert.ok(one('User') && one('User') !== 'root', 'a dedicated user');
    assert.equal(one('Restart'), 'on-failure');
    assert.equal(one('KillSignal'), 'SIGTERM');
    assert.ok(Number.parseInt(one('TimeoutStopSec')!, 10) >= 30, 'room for a graceful stop');
    for (const [key, value] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['PrivateTmp', 'yes'],
      ['ProtectHome', 'yes'],
    ])
      assert.equal(one(key), value, key);
    assert.ok(
      service.get('ReadWritePaths')?.some((p) => p.includes('/var/lib/invoice-gateway')),
      'the data folder is writable',
    );
    assert.ok(service.get('Environment')?.includes('LOG_FORMAT=json'));
    assert.equal(service.has('MemoryDenyWriteExecute'), false, 'the JIT compilers need writable executable memory');
    assert.ok(
      comments.some((c) => /^#After=\S+\.mount$/.test(c)) && comments.some((c) => /^#Requires=\S+\.mount$/.test(c)),
      'the mount dependency for a share is documented',
    );
    assert.equal(sections.get('Install')?.get('WantedBy')?.[0], 'multi-user.target');
  });

  it('systemd-analyze verify accepts the unit (where systemd is installed)', function () {
    if (!existsSync('/usr/bin/systemd-analyze')) this.skip();
    const dir = tempDir('igw-unit-');
    const unit = join(dir, 'invoice-gateway.service');
    // verify checks that the command exists: point it at this machine's node and checkout
    writeFileSync(unit, readFileSync(UNIT, 'utf8').replace('/usr/bin/node /opt/invoice-gateway/dist/src/cli/main.js', `${process.execPath} ${CLI}`));
    const run = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr.trim(), '', 'no warnings');
  });

  it('under a service manager the console lines are JSON on stdout', async () => {
    assert.equal(consoleFormat(readEnvironment({ INVOCATION_ID: 'abc' })), 'json', 'systemd sets INVOCATION_ID');
    assert.equal(consoleFormat(readEnvironment({ LOG_FORMAT: 'text', INVOCATION_ID: 'abc' })), 'text');
    assert.equal(consoleFormat(readEnvironment({})), 'text');
    const ws = workspace();
    const child = spawn(process.execPath, [CLI, 'run', '--config', ws.config, '--mappings', ws.mappings], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_FORMAT: 'json' },
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    try {
      await waitFor('the gateway running', () => stdout.includes('gateway running'));
    } finally {
      await stopService(child);
    }
    // the exit can be reported before the last lines are read from the pipe
    await waitFor('the graceful stop logged too', () => stdout.includes('"message":"stopped"'));
    const lines = stdout.trim().split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as { level: string; message: string; timestamp: string });
    assert.ok(parsed.some((l) => l.message === 'gateway running' && l.level === 'info' && l.timestamp));
    assert.ok(
      parsed.some((l) => l.message === 'stopped'),
      'the graceful stop is logged too',
    );
  });

  it('by hand: a start-up summary, then one line per file on the console; every invoice and delivery in the log file', async () => {
    const ws = workspace();
    const child = spawn(process.execPath, [CLI, 'run', '--config', ws.config, '--mappings', ws.mappings], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_FORMAT: 'text' },
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    try {
      await waitFor('the summary', () => stdout.includes('log file:'));
      writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(20));
      await waitFor('the file processed', () => stdout.includes('file processed'));
      await waitFor('20 deliveries in the log file', () => (readFileSync(join(ws.data, 'gateway.log'), 'utf8').match(/"delivery sent"/g) ?? []).length === 20);
    } finally {
      await stopService(child);
    }
    for (const line of ['watching:', 'routes:', 'outputs:', 'validation: official artefacts installed', 'ledger:', 'log file:'])
      assert.match(stdout, new RegExp(`^${line}`, 'm'), line);
    assert.equal((stdout.match(/file processed/g) ?? []).length, 1, 'one line for the file');
    assert.doesNotMatch(stdout, /invoice issued|delivery sent/, 'not one line per invoice');
    assert.equal((readFileSync(join(ws.data, 'gateway.log'), 'utf8').match(/"invoice issued"/g) ?? []).length, 20, 'the log file has every invoice');
  });

  it('--version names the gateway and Node.js versions', () => {
    const run = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' });
    assert.equal(run.status, 0);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(run.stdout.trim(), `invoice-gateway ${pkg.version} (Node.js ${process.version})`);
  });
});
