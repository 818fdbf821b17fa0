import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from './paths.js';

/** Runs openssl; a failure fails the test with the command. */
export function openssl(...args: string[]): void {
  const run = spawnSync('openssl', args, { encoding: 'utf-8' });
  assert.equal(run.status, 0, `openssl ${args.join(' ')}: ${run.stderr}`);
}

/** A self-signed certificate for 127.0.0.1 and localhost, valid two days: key.pem and cert.pem in a fresh folder. */
export function selfSignedCertificate(): { dir: string; key: string; cert: string } {
  const dir = tempDir('igw-tls-');
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  );
  return { dir, key, cert };
}
