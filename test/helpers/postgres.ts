import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { tempDir } from './paths.js';
import { freePort } from './net.js';

/** A PostgreSQL server of Debian's `postgresql` package, started for the tests in a temporary folder on a loopback port. */
export interface PgServer {
  port: number;
  /** the folder of its Unix socket (a node on the same machine may connect through it) */
  socketDir: string;
  /** a new, empty database on the server, as a connection URL */
  createDatabase(): Promise<string>;
  /** `pg_ctl stop -m fast` (connections are cut, as in a database restart) */
  stop(): Promise<void>;
  /** starts it again on the same port and data folder */
  start(): Promise<void>;
}

/** The server binaries of the newest installed PostgreSQL. */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const dir = versions.map((v) => join(root, v, 'bin')).find((d) => existsSync(join(d, 'pg_ctl')));
  if (!dir) throw new Error('PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)');
  return dir;
}

/** PostgreSQL refuses to run as root: as root, its commands run as the postgres user the package creates. */
function run(bin: string, args: string[]): string {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return execFileSync(cmd, argv, { encoding: 'utf-8', stdio: ['ignore', 'pipe', 'pipe'] });
}

let counter = 0;

/** Starts a fresh server (initdb in a temp folder); stop it with `stop()` in an after hook. */
export async function startPostgres(options: { settings?: string[] } = {}): Promise<PgServer> {
  const bin = binDir();
  const dir = tempDir('igw-pg-');
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf-8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf-8' }).trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  run(join(bin, 'initdb'), ['-D', data, '-U', 'igw', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  const start = async (): Promise<void> => {
    try {
      run(join(bin, 'pg_ctl'), [
        '-D',
        data,
        '-l',
        join(dir, 'server.log'),
        '-w',
        '-t',
        '120',
        '-o',
        [`-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`, ...(options.settings ?? []).map((x) => `-c ${x}`)].join(' '),
        'start',
      ]);
    } catch (err) {
      const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf-8').slice(-2000) : '';
      throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${log}`);
    }
  };
  await start();
  return {
    socketDir: dir,
    port,
    async createDatabase() {
      const name = `igw_${process.pid}_${++counter}`;
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'igw', database: 'postgres' });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://igw@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      if (existsSync(join(data, 'postmaster.pid'))) run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    start,
  };
}
