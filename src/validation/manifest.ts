import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA_DIR } from '../paths.js';
import type { ProfileName } from './engine.js';

/**
 * One download of a component: an archive (with `root`, the folder inside it that maps to `into`)
 * or a single file (no `root`). `files` maps each file, relative to `into`, to its SHA-256.
 */
export interface ManifestPart {
  url: string;
  root?: string;
  into: string;
  files: Record<string, string>;
  /** where a file sits in the archive when its name there differs (relative to `root`) */
  renames?: Record<string, string>;
}

/** A unit that is installed whole or not at all: one release of one official artefact set. */
export interface ManifestComponent {
  title: string;
  version: string;
  /** the folder under STANDARDS_HOME, ending in "/" */
  folder: string;
  parts: ManifestPart[];
  /** stylesheets (relative to `folder`) compiled to SaxonJS SEF at install time */
  compile?: string[];
  /**
   * Rules shipped only as ISO Schematron: each `source` (relative to `folder`) is compiled to XSLT at
   * `output` (relative to `folder`) at install time, with the compiler at `pipeline` (an installed path)
   */
  schematron?: { source: string; output: string; pipeline: string }[];
}

/** A release of a profile's rules and the issue date from which it applies. */
export interface Ruleset {
  release: string;
  label: string;
  effective: string;
  stylesheets: string[];
  /** the same rules for UN/CEFACT CII documents, where the profile has a CII binding */
  ciiStylesheets?: string[];
}

/** Where newer releases of a profile's rules are announced (an Atom feed of tags) and how a tag reads. */
export interface ReleaseFeed {
  url: string;
  /** a regular expression whose first group is the comparable version in a tag */
  tag: string;
  /** the newest version this manifest knows */
  known: string;
}

export interface StandardsManifest {
  components: Record<string, ManifestComponent>;
  rulesets: Record<ProfileName, Ruleset[]>;
  feeds: Partial<Record<ProfileName, ReleaseFeed>>;
}

/** A file of the manifest, as installed: its path under STANDARDS_HOME and where it comes from. */
export interface ManifestFile {
  component: string;
  part: ManifestPart;
  /** relative to the part's `into` (the name in the manifest) */
  key: string;
  /** relative to STANDARDS_HOME */
  installed: string;
  sha256: string;
}

const MANIFEST_PATH = join(SCHEMA_DIR, 'standards-manifest.json');
let cached: StandardsManifest | undefined;

/** The manifest shipped with this version of the gateway (schemas/standards-manifest.json). */
export function manifest(): StandardsManifest {
  cached ??= JSON.parse(readFileSync(MANIFEST_PATH, 'utf-8')) as StandardsManifest;
  return cached;
}

/** A fingerprint of a component's manifest entry: an installed component is current while it matches. */
export function componentDigest(id: string, m = manifest()): string {
  return createHash('sha256').update(JSON.stringify(m.components[id])).digest('hex');
}

/** Every file of a component, with its installed path. */
export function componentFiles(id: string, m = manifest()): ManifestFile[] {
  const component = m.components[id]!;
  return component.parts.flatMap((part) =>
    Object.entries(part.files).map(([key, sha256]) => ({ component: id, part, key, installed: `${component.folder}${part.into}${key}`, sha256 })),
  );
}

/** The compiled SaxonJS form of a stylesheet: "x.xslt" → "x.sef.json". */
export function sefPath(stylesheet: string): string {
  return stylesheet.replace(/\.xslt?$/, '.sef.json');
}

/** The component an installed path belongs to (the one with the longest folder that holds it). */
export function componentOf(path: string, m = manifest()): string | undefined {
  let best: string | undefined;
  for (const [id, c] of Object.entries(m.components)) {
    if (path.startsWith(c.folder) && (!best || c.folder.length > m.components[best]!.folder.length)) best = id;
  }
  return best;
}

/** The components a ruleset needs: the UBL schemas and those holding its stylesheets (the CII ones hold their schema). */
export function rulesetComponents(ruleset: Ruleset, m = manifest()): string[] {
  const ids = new Set(['ubl-2.1']);
  for (const sheet of [...ruleset.stylesheets, ...(ruleset.ciiStylesheets ?? [])]) {
    const id = componentOf(sheet, m);
    if (id) ids.add(id);
  }
  return [...ids];
}
