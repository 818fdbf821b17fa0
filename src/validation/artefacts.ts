import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError } from '../errors.js';
import { processEnvironment } from '../environment.js';
import { issueDateOf, type Finding, type ProfileName, type ValidateOptions } from './engine.js';
import type { InvoiceSyntax } from './header.js';
import { componentDigest, componentFiles, componentOf, manifest, rulesetComponents, type Ruleset } from './manifest.js';

/** The artefacts are missing or altered: an installation problem, never the sender's. */
export class ArtefactError extends EnvironmentError {}

/** Where the installed artefacts live: STANDARDS_HOME, else standards/ in the gateway's folder (ignored by git). */
export function standardsHome(): string {
  return processEnvironment().standardsHome;
}
/** The record of what is installed, written last by the installer. */
export const STATE_FILE = 'installed.json';

/** One installed component, as the installer recorded it. */
export interface InstalledComponent {
  /** the fingerprint of its manifest entry when installed */
  digest: string;
  version: string;
  installedAt: string;
  /** where its files came from */
  source: string;
  /** compiled stylesheets (installed path → SHA-256), made at install time */
  sef: Record<string, string>;
}

export interface InstalledState {
  components: Record<string, InstalledComponent>;
}

let stateCache: { mtimeMs: number; state: InstalledState } | undefined;

/** What the installer recorded in the standards folder (empty when nothing is installed). */
export function installedState(home = standardsHome()): InstalledState {
  const path = join(home, STATE_FILE);
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return { components: {} };
  }
  if (home === standardsHome() && stateCache?.mtimeMs === mtimeMs) return stateCache.state;
  let state: InstalledState;
  try {
    state = JSON.parse(readFileSync(path, 'utf-8')) as InstalledState;
  } catch {
    return { components: {} };
  }
  if (home === standardsHome()) stateCache = { mtimeMs, state };
  return state;
}

/** True when a component of the current manifest is installed (as the manifest now describes it). */
export function componentInstalled(id: string, state = installedState()): boolean {
  return state.components[id]?.digest === componentDigest(id);
}

/** The components of the manifest that are not installed (or installed as an older manifest described them). */
export function missingComponents(state = installedState()): string[] {
  return Object.keys(manifest().components).filter((id) => !componentInstalled(id, state));
}

function rulesetInstalled(ruleset: Ruleset, state: InstalledState): boolean {
  return rulesetComponents(ruleset).every((id) => componentInstalled(id, state));
}

/** True when UBL can be validated: the schemas and at least one release of every profile's rules are installed. */
export function standardsInstalled(state = installedState()): boolean {
  return Object.values(manifest().rulesets).every((releases) => releases.some((r) => rulesetInstalled(r, state)));
}

function howToInstall(): string {
  return 'Install them with:  npx invoice-gateway install-standards   (downloads them from their official addresses; without internet: --from <folder|archive|URL> or STANDARDS_MIRROR)';
}

/** The path of an installed artefact; throws with install instructions when its component is not installed. */
export function artefact(rel: string): string {
  const id = componentOf(rel);
  if (!id || !componentInstalled(id)) {
    throw new ArtefactError(`the validation artefacts are not installed in ${standardsHome()} (missing: ${id ?? rel}).\n${howToInstall()}`);
  }
  return join(standardsHome(), rel);
}

/** The installed releases of a profile's rules, oldest first. */
export function installedRulesets(profile: ProfileName, state = installedState()): Ruleset[] {
  return manifest()
    .rulesets[profile].filter((r) => rulesetInstalled(r, state))
    .sort((a, b) => a.effective.localeCompare(b.effective));
}

/**
 * The release of a profile's rules in force on an issue date (YYYY-MM-DD, default today): the
 * newest installed one whose effective date is not after it; before the first, the oldest.
 */
export function rulesetFor(profile: ProfileName, issueDate?: string, state = installedState()): Ruleset {
  const releases = installedRulesets(profile, state);
  if (!releases.length) throw new ArtefactError(`no release of the ${profile} rules is installed in ${standardsHome()}.\n${howToInstall()}`);
  const day = issueDate ?? new Date().toISOString().slice(0, 10);
  return releases.filter((r) => r.effective <= day).pop() ?? releases[0]!;
}

/** The release named, when installed (for `validate --release` and the tests). */
export function rulesetNamed(profile: ProfileName, release: string, state = installedState()): Ruleset {
  const found = installedRulesets(profile, state).find((r) => r.release === release);
  if (!found) throw new ArtefactError(`release ${release} of the ${profile} rules is not installed in ${standardsHome()}`);
  return found;
}

/** The stylesheets of a release for a syntax, or undefined when the profile has no binding for it (Peppol BIS and NLCIUS are UBL only). */
export function stylesheetsFor(ruleset: Ruleset, syntax: InvoiceSyntax): string[] | undefined {
  return syntax === 'ubl' ? ruleset.stylesheets : ruleset.ciiStylesheets;
}

/** The finding for a document in a syntax its profile has no rules for. */
export function noBindingFinding(profile: ProfileName, ruleset: Ruleset, syntax: InvoiceSyntax): Finding {
  return {
    rule: 'SYNTAX',
    severity: 'fatal',
    message: `the ${profile} rules (${ruleset.label}) have no ${syntax.toUpperCase()} binding; a CII document is validated with the EN 16931 rules (profile en16931)`,
    source: 'engine',
  };
}

/** The release a document is validated with: the one named, else the one in force on its issue date. */
export function rulesetForDocument(xml: string | Buffer, profile: ProfileName, options: ValidateOptions = {}): Ruleset {
  return options.release ? rulesetNamed(profile, options.release) : rulesetFor(profile, issueDateOf(xml));
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Checks every file of an installed component against the manifest (and its compiled stylesheets against the record). */
export function verifyComponent(id: string, home = standardsHome(), state = installedState(home)): string[] {
  const problems: string[] = [];
  const expected: [string, string][] = [
    ...componentFiles(id).map((f): [string, string] => [f.installed, f.sha256]),
    ...Object.entries(state.components[id]?.sef ?? {}),
  ];
  for (const [rel, hash] of expected) {
    const path = join(home, rel);
    if (!existsSync(path)) problems.push(`missing: ${rel}`);
    else if (sha256(path) !== hash) problems.push(`altered (SHA-256 differs): ${rel}`);
  }
  return problems;
}

/** Verifies every installed component; problems by file. */
export function verifyInstalled(): string[] {
  const state = installedState();
  return Object.keys(state.components)
    .filter((id) => componentInstalled(id, state))
    .flatMap((id) => verifyComponent(id, standardsHome(), state));
}
