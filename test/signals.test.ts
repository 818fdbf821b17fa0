import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { parse, stringify } from 'yaml';
import { join } from 'node:path';
import { CLI, ROOT, tempDir } from './helpers/paths.js';
import { filesIn, membersCsv, waitFor, workspace, type Workspace } from './helpers/service.js';
import { countDeliveries, countFiles, countInvoices } from './helpers/ledger-view.js';
import { mailWorkspace, type TestSmtp } from './helpers/smtp.js';
import { freePort } from './helpers/net.js';

/** The pids of a process's children (ps reads them from /proc). */
function childrenOf(pid: number): { pid: number; command: string }[] {
  const ps = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf-8' });
  return ps.stdout
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), command: m[2]! }));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf-8' }).stdout.startsWith('Z');
  } catch {
    return false;
  }
}

/** A copy of config/ and mappings/ whose demo data lands in the test's own folder. */
function demoInstallation(): { root: string; args: string[]; env: NodeJS.ProcessEnv } {
  const root = tempDir('igw-signals-');
  cpSync(join(ROOT, 'config'), join(root, 'config'), { recursive: true });
  cpSync(join(ROOT, 'mappings'), join(root, 'mappings'), { recursive: true });
  return { root, args: ['--config', join(root, 'config'), '--mappings', join(root, 'mappings')], env: { ...process.env } };
}

/** Started as a terminal starts a command: in a process group of its own, which Ctrl+C signals as a whole. */
function startInGroup(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

async function exited(child: ChildProcess, what: string, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await waitFor(what, () => child.exitCode !== null || child.signalCode !== null, timeoutMs, 100);
}

describe('starting and stopping as users do', function () {
  this.timeout(240_000);
  const groups: number[] = [];
  afterEach(() => {
    // whatever a failed test left running goes
    for (const g of groups.splice(0))
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        // gone
      }
  });

  it('`npm start` passes a SIGTERM sent to npm itself on to the gateway, which stops within its bound with its helpers', async () => {
    const { root, args, env } = demoInstallation();
    const { child, output } = startInGroup('npm', ['start', '--', ...args], ROOT, { ...env, IGW_CONSOLE_PORT: String(await freePort()) });
    groups.push(child.pid!);
    await waitFor('the demo running', () => output().includes('gateway running'), 120_000, 200);
    const gateway = childrenOf(child.pid!).find((c) => c.command.includes('main.js run'));
    assert.ok(gateway, `node runs directly under npm (no shell in between that would swallow signals): ${JSON.stringify(childrenOf(child.pid!))}`);
    const helpers = childrenOf(gateway.pid).filter((c) => c.command.includes('GatewayValidator'));
    assert.ok(helpers.length > 0, 'the validation helpers run');
    const started = Date.now();
    process.kill(child.pid!, 'SIGTERM');
    await exited(child, 'npm and the gateway to exit after SIGTERM to npm', 60_000);
    assert.ok(Date.now() - started < 45_000, `stopped in ${Date.now() - started} ms`);
    assert.ok(!alive(gateway.pid), 'the gateway is gone');
    for (const h of helpers) assert.ok(!alive(h.pid), 'no validation helper outlives the gateway');
    assert.match(output(), /signal received: stopping {2}signal=SIGTERM/);
    assert.match(output(), /\bstopped\b/);
    assert.ok(existsSync(join(root, 'data', 'demo', 'ledger.sqlite')));
  });

  it('Ctrl+C (SIGINT to the whole group) right after the start, with the helper JVMs killed as they start: no file stranded, and the stop returns', async () => {
    const { root, args, env } = demoInstallation();
    const { child, output } = startInGroup(process.execPath, [CLI, 'run', '--demo', ...args], root, { ...env, IGW_CONSOLE_PORT: String(await freePort()) });
    groups.push(child.pid!);
    // the helpers die within a second of their start, before they could say READY
    const killed = new Set<number>();
    await waitFor(
      'two validation helpers killed as they started',
      () => {
        for (const h of childrenOf(child.pid!).filter((c) => c.command.includes('GatewayValidator')))
          if (!killed.has(h.pid) && killed.size < 2) {
            process.kill(h.pid, 'SIGKILL');
            killed.add(h.pid);
          }
        return killed.size >= 2;
      },
      60_000,
      20,
    );
    const demo = join(root, 'data', 'demo');
    const finished = () => filesIn(join(demo, 'archive'), (n) => !n.endsWith('.receipt.json')).length;
    await waitFor(
      'every sample file processed, none left in processing/',
      () => finished() === 6 && filesIn(join(demo, 'inbox', '.processing')).length === 0,
      120_000,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${output()}`);
    });
    // a terminal's Ctrl+C: the whole foreground group gets SIGINT
    const helpers = childrenOf(child.pid!).filter((c) => c.command.includes('GatewayValidator'));
    const started = Date.now();
    process.kill(-child.pid!, 'SIGINT');
    await exited(child, 'the gateway to exit after Ctrl+C', 60_000);
    assert.ok(Date.now() - started < 45_000, `stopped in ${Date.now() - started} ms`);
    for (const h of helpers) assert.ok(!alive(h.pid), 'no validation helper outlives the gateway');
    assert.equal(child.exitCode, 0, output());
    assert.equal(existsSync(join(demo, 'error')) ? filesIn(join(demo, 'error')).length : 0, 0, 'nothing blamed on the sender');
  });

  /** A mail server that accepts connections and never says a word: every send hangs until its own time limit. */
  async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      port: (server.address() as AddressInfo).port,
      close: () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
    };
  }

  async function hangingSends(
    stopWithin: string,
  ): Promise<{ ws: Workspace; child: ChildProcess; output: () => string; server: { close: () => Promise<void> } }> {
    const server = await silentServer();
    const ws = mailWorkspace({ port: server.port } as TestSmtp);
    const file = join(ws.config, 'gateway.yaml');
    writeFileSync(file, stringify({ ...(parse(readFileSync(file, 'utf-8')) as object), stopWithin, outbox: { pollInterval: '100ms' } }));
    const started = startInGroup(process.execPath, [CLI, 'run', '--config', ws.config, '--mappings', ws.mappings], ws.root, { ...process.env });
    groups.push(started.child.pid!);
    writeFileSync(join(ws.inbox, 'members', 'contributie_2027.csv'), membersCsv(3));
    await waitFor('sends hanging on the silent server', async () => (await countDeliveries(ws, 'sending')) > 0, 60_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}\n${started.output()}`);
    });
    return { ws, ...started, server };
  }

  it('a stop that cannot finish in its bound (a mail server that never answers) leaves the sends for the next start and exits', async () => {
    const { child, output, server } = await hangingSends('3s');
    try {
      const started = Date.now();
      process.kill(child.pid!, 'SIGTERM');
      await exited(child, 'the gateway to exit after its stop bound', 30_000);
      assert.ok(Date.now() - started < 20_000, `exited in ${Date.now() - started} ms`);
      assert.equal(child.exitCode, 0, output());
      assert.match(output(), /sends still under way are left; they are due again at the next start/);
    } finally {
      await server.close();
    }
  });

  it('a second signal exits at once', async () => {
    const { child, output, server } = await hangingSends('5m');
    try {
      const started = Date.now();
      process.kill(child.pid!, 'SIGTERM');
      // the first one is heard (the stop is under way, waiting for the silent server) before the second comes
      await waitFor('the first signal heard', () => /stopping: finishing work under way/.test(output()), 10_000);
      process.kill(child.pid!, 'SIGTERM');
      await exited(child, 'the gateway to exit at the second signal', 20_000);
      assert.ok(Date.now() - started < 15_000, `exited in ${Date.now() - started} ms`);
      assert.equal(child.exitCode, 143);
    } finally {
      await server.close();
    }
  });

  it('kills while the node starts (helpers not ready yet) are not counted against the files it was working on: none is set aside', async () => {
    const ws = workspace(
      { validation: { requestTimeout: '10m' } },
      { defaults: { paymentTermsDays: 30, routes: [{ format: 'ubl', transport: 'folder', target: 'out', profile: 'en16931' }] } },
    );
    const start = () => startInGroup(process.execPath, [CLI, 'run', '--config', ws.config, '--mappings', ws.mappings], ws.root, { ...process.env });
    const killAll = (pid: number): void => {
      for (const h of childrenOf(pid).filter((c) => c.command.includes('GatewayValidator'))) process.kill(h.pid, 'SIGKILL');
      process.kill(pid, 'SIGKILL');
    };
    let node = start();
    groups.push(node.child.pid!);
    await waitFor('the helpers ready', () => node.output().includes('validation helpers ready'), 120_000, 100);
    // the helpers freeze: the files are taken and wait for their validation
    for (const h of childrenOf(node.child.pid!).filter((c) => c.command.includes('GatewayValidator'))) process.kill(h.pid, 'SIGSTOP');
    for (let n = 0; n < 3; n++) writeFileSync(join(ws.inbox, 'members', `contributie_${n}.csv`), membersCsv(2, 5001 + 10 * n));
    await waitFor('three files under way', async () => (await countFiles(ws, 'processing')) === 3, 60_000, 100);
    killAll(node.child.pid!);
    await exited(node.child, 'the node killed', 10_000);
    // a kill storm: each restart is killed while it waits for its helpers
    for (let k = 0; k < 4; k++) {
      node = start();
      groups.push(node.child.pid!);
      await waitFor('the restart waiting for its helpers', () => node.output().includes('starting the UBL validation helpers'), 60_000, 20);
      killAll(node.child.pid!);
      await exited(node.child, 'the restart killed', 10_000);
    }
    node = start();
    groups.push(node.child.pid!);
    await waitFor('the three files done', async () => (await countFiles(ws, 'done')) === 3, 120_000, 200);
    assert.equal(filesIn(join(ws.data, 'error')).length, 0, 'no file blamed');
    assert.equal(await countInvoices(ws), 6, 'each invoice once');
    process.kill(node.child.pid!, 'SIGTERM');
    await exited(node.child, 'the node stopped', 60_000);
  });
});
