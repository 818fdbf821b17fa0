import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './paths.js';
import { freePort } from './net.js';

/** A real OpenSSH server on a loopback port, with a temporary host key, one authorised key and its own folder. */
export interface TestSshd {
  port: number;
  /** the folder uploads go to (absolute, on this machine) */
  folder: string;
  hostKeySha256: string;
  clientKeyFile: string;
  otherHostKeySha256: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > until) throw new Error(`sshd did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function fingerprint(pubFile: string): string {
  const out = spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf-8' }).stdout;
  return /SHA256:[A-Za-z0-9+/]+/.exec(out)![0];
}

/** Starts sshd (Debian openssh-server, installed by .ci/run); `stop`/`start` simulate an outage. */
export async function startSshd(): Promise<TestSshd> {
  const dir = tempDir('igw-sshd-');
  const folder = join(dir, 'drop');
  mkdirSync(folder);
  mkdirSync('/run/sshd', { recursive: true });
  for (const [name, type] of [
    ['host_key', 'ed25519'],
    ['other_host_key', 'ed25519'],
    ['client_key', 'ed25519'],
  ] as const) {
    spawnSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', join(dir, name)]);
  }
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      'MaxStartups 100:30:200',
      'MaxSessions 50',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const sshd: TestSshd = {
    port,
    folder,
    hostKeySha256: fingerprint(join(dir, 'host_key.pub')),
    otherHostKeySha256: fingerprint(join(dir, 'other_host_key.pub')),
    clientKeyFile: join(dir, 'client_key'),
    async start() {
      child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
      await waitForPort(port);
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      // sshd's per-connection children would keep serving open sessions: end them first
      spawnSync('pkill', ['-KILL', '-P', String(child.pid)]);
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
  await sshd.start();
  return sshd;
}

/** The user the tests log in as (the test runs as root in CI and here). */
export function currentUser(): string {
  return process.env['USER'] ?? spawnSync('id', ['-un'], { encoding: 'utf-8' }).stdout.trim();
}
