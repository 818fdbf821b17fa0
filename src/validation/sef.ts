import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { processEnvironment } from '../environment.js';
import { ArtefactError } from './artefacts.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** The xslt3 compiler that ships with this install, and its version (part of the cache key). */
function compiler(): { script: string; version: string } {
  const pkg = require.resolve('xslt3/package.json');
  return { script: join(dirname(pkg), 'xslt3.js'), version: (JSON.parse(readFileSync(pkg, 'utf-8')) as { version: string }).version };
}

/**
 * Compiled stylesheets are kept by the SHA-256 of their XSLT and the compiler version, so a second
 * install (another STANDARDS_HOME, a test, an upgrade that keeps a release) does not compile again.
 */
export function sefCacheDir(): string {
  return processEnvironment().sefCacheDir;
}

/** Compiles an official XSLT to SaxonJS's SEF with xslt3 (from the cache when it was compiled before). */
export async function compileSef(xslt: string, target: string): Promise<'compiled' | 'cached'> {
  const { script, version } = compiler();
  const key = `${createHash('sha256').update(readFileSync(xslt)).digest('hex')}-xslt3-${version}.sef.json`;
  const cached = join(sefCacheDir(), key);
  if (existsSync(cached)) {
    copyFileSync(cached, target);
    return 'cached';
  }
  try {
    // the biggest official stylesheets need about 600 MB while compiling
    await run(process.execPath, ['--max-old-space-size=2048', script, '-relocate:on', `-xsl:${xslt}`, `-export:${target}`, '-nogo'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    JSON.parse(readFileSync(target, 'utf-8'));
  } catch (err) {
    throw new ArtefactError(`could not compile ${xslt} for SaxonJS with xslt3 ${version}: ${(err as { stderr?: string }).stderr || (err as Error).message}`);
  }
  try {
    mkdirSync(sefCacheDir(), { recursive: true });
    const temp = `${cached}.${process.pid}.tmp`;
    copyFileSync(target, temp);
    renameSync(temp, cached);
  } catch {
    // a cache that cannot be written only costs time at the next install
  }
  return 'compiled';
}

/**
 * Compiles rules shipped only as ISO Schematron to XSLT, with SchXslt's pipeline run by xslt3 (no
 * Java needed). SchXslt stamps the compile time into its output; that stamp is taken out, so the
 * same rules always give the same stylesheet (and its SEF comes from the cache).
 */
export async function compileSchematron(pipeline: string, source: string, target: string): Promise<void> {
  const { script, version } = compiler();
  try {
    await run(process.execPath, ['--max-old-space-size=2048', script, `-xsl:${pipeline}`, `-s:${source}`, `-o:${target}`], { maxBuffer: 64 * 1024 * 1024 });
    const xslt = readFileSync(target, 'utf-8').replace(/<dct:created>\d{4}-\d{2}-\d{2}T[^<]*<\/dct:created>/g, '');
    writeFileSync(target, xslt);
  } catch (err) {
    throw new ArtefactError(
      `could not compile the Schematron ${source} with SchXslt on xslt3 ${version}: ${(err as { stderr?: string }).stderr || (err as Error).message}`,
    );
  }
}
