import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { EnvironmentError } from '../errors.js';
import { PROJECT_ROOT, SCHEMA_DIR } from '../paths.js';

/** The validation artefacts are missing or altered. */
/** The artefacts are missing or altered: an installation problem, never the sender's. */
export class ArtefactError extends EnvironmentError {}

interface Manifest {
  downloads: Record<string, string>;
  files: Record<string, string>;
  accountingSchemas: { downloads: Record<string, string>; files: Record<string, string> };
}

/** Where the Exact XSDs come from: ACCOUNTING_XSD_DIR, else ../shared/specs/accounting-samples. */
export function accountingSchemaSource(): string | undefined {
  const given = process.env['ACCOUNTING_XSD_DIR'];
  if (given) return resolve(given);
  const beside = resolve(PROJECT_ROOT, '..', 'shared', 'specs', 'accounting-samples');
  return existsSync(beside) ? beside : undefined;
}

/** Where the installed artefacts live (ignored by git). */
export const STANDARDS_HOME = process.env['STANDARDS_HOME'] ?? join(PROJECT_ROOT, 'standards');
const STAMP = '.installed-manifest-sha256';

function manifest(): Manifest {
  return JSON.parse(readFileSync(join(SCHEMA_DIR, 'standards-manifest.json'), 'utf-8')) as Manifest;
}

function manifestHash(): string {
  return createHash('sha256')
    .update(readFileSync(join(SCHEMA_DIR, 'standards-manifest.json')))
    .digest('hex');
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The folder to install from: STANDARDS_DIR, else ../shared/standards next to the checkout. */
export function standardsSource(): string | undefined {
  const given = process.env['STANDARDS_DIR'];
  if (given) return resolve(given);
  const beside = resolve(PROJECT_ROOT, '..', 'shared', 'standards');
  return existsSync(beside) ? beside : undefined;
}

function howToInstall(): string {
  const m = manifest();
  return [
    'Install them with:  STANDARDS_DIR=/path/to/standards npx invoice-gateway install-standards',
    'where the folder holds the official artefacts laid out as in schemas/standards-manifest.json; they come from:',
    ...Object.entries(m.downloads).map(([k, v]) => `  ${k}: ${v}`),
  ].join('\n');
}

/** Copies every artefact from the source folder, refusing any file whose SHA-256 differs from the manifest. */
export function installStandards(from = standardsSource()): { installed: number; target: string } {
  if (!from || !existsSync(from)) {
    throw new ArtefactError(`the validation artefacts folder was not found${from ? ` at ${from}` : ' (STANDARDS_DIR is not set)'}.\n${howToInstall()}`);
  }
  const m = manifest();
  const problems: string[] = [];
  for (const [rel, expected] of Object.entries(m.files)) {
    const source = join(from, rel);
    if (!existsSync(source)) problems.push(`missing: ${rel}`);
    else if (sha256(source) !== expected) problems.push(`altered (SHA-256 differs): ${rel}`);
  }
  if (problems.length) {
    throw new ArtefactError(
      `the artefacts in ${from} do not match schemas/standards-manifest.json (${problems.length} problem(s)):\n  ${problems.slice(0, 10).join('\n  ')}${problems.length > 10 ? '\n  ...' : ''}\n${howToInstall()}`,
    );
  }
  const xsdFrom = accountingSchemaSource();
  for (const [name, expected] of Object.entries(m.accountingSchemas.files)) {
    const source = xsdFrom ? join(xsdFrom, name) : undefined;
    if (!source || !existsSync(source)) problems.push(`missing Exact XSD: ${name} (set ACCOUNTING_XSD_DIR)`);
    else if (sha256(source) !== expected) problems.push(`altered (SHA-256 differs): ${name}`);
  }
  if (problems.length) throw new ArtefactError(`the Exact schemas do not match schemas/standards-manifest.json:\n  ${problems.join('\n  ')}`);
  for (const rel of Object.keys(m.files)) {
    const target = join(STANDARDS_HOME, rel);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(from, rel), target);
  }
  mkdirSync(join(STANDARDS_HOME, 'exact'), { recursive: true });
  for (const name of Object.keys(m.accountingSchemas.files)) copyFileSync(join(xsdFrom!, name), join(STANDARDS_HOME, 'exact', name));
  writeFileSync(join(STANDARDS_HOME, STAMP), manifestHash());
  return { installed: Object.keys(m.files).length, target: STANDARDS_HOME };
}

/** True when the artefacts of the current manifest are installed. */
export function standardsInstalled(): boolean {
  const stamp = join(STANDARDS_HOME, STAMP);
  return existsSync(stamp) && readFileSync(stamp, 'utf-8') === manifestHash();
}

/** The path of an installed artefact; throws with install instructions when they are not installed. */
export function artefact(rel: string): string {
  if (!standardsInstalled()) throw new ArtefactError(`the validation artefacts are not installed in ${STANDARDS_HOME}.\n${howToInstall()}`);
  return join(STANDARDS_HOME, rel);
}

/** Verifies every installed file against the manifest (a slower, full check). */
export function verifyInstalled(): string[] {
  const problems: string[] = [];
  for (const [rel, expected] of Object.entries(manifest().files)) {
    const path = join(STANDARDS_HOME, rel);
    if (!existsSync(path)) problems.push(`missing: ${rel}`);
    else if (sha256(path) !== expected) problems.push(`altered: ${rel}`);
  }
  return problems;
}
