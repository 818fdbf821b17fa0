import { createHash } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  createWriteStream,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { processEnvironment } from '../environment.js';
import { errorMessage } from '../errors.js';
import { ArtefactError, componentInstalled, installedState, standardsHome, STATE_FILE, verifyComponent, type InstalledState } from './artefacts.js';
import { eachZipEntry } from './archives.js';
import { defaultDownloadPolicy, type DownloadPolicy } from './download.js';
import { componentDigest, componentFiles, componentOf, manifest, sefPath, type ManifestFile, type ManifestPart } from './manifest.js';
import { compileSchematron, compileSef } from './sef.js';
import { parseSources, scratchFor, type ArtefactSource, type Progress } from './sources.js';

export interface InstallOptions {
  /** `--from`: folders, archives or URLs separated by ";" (default STANDARDS_MIRROR, else the official addresses) */
  from?: string;
  /** reinstall components that are installed and intact */
  force?: boolean;
  progress?: Progress;
  policy?: DownloadPolicy;
  home?: string;
}

export interface InstallResult {
  target: string;
  /** components installed by this run */
  installed: string[];
  /** components that were installed and intact before, and stay */
  kept: string[];
  /** components that could not be installed, with what was missing or wrong */
  failed: { component: string; problems: string[] }[];
}

async function copyVerified(stream: Readable, target: string, expected: string): Promise<string | undefined> {
  mkdirSync(dirname(target), { recursive: true });
  const hash = createHash('sha256');
  stream.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(stream, createWriteStream(target));
  const actual = hash.digest('hex');
  if (actual === expected) return undefined;
  rmSync(target, { force: true });
  return actual;
}

/** Collects one part's files from the sources, in order, into the new tree. */
class PartCollector {
  readonly written: string[] = [];
  readonly problems = new Map<string, string>();
  private readonly remaining: Map<string, ManifestFile>;

  constructor(
    private readonly part: ManifestPart,
    files: ManifestFile[],
    private readonly tree: string,
  ) {
    this.remaining = new Map(files.map((f) => [f.key, f]));
  }

  get done(): boolean {
    return this.remaining.size === 0;
  }

  private async take(file: ManifestFile, stream: Readable, where: string): Promise<void> {
    const wrong = await copyVerified(stream, join(this.tree, file.installed), file.sha256);
    if (wrong) {
      this.problems.set(
        file.installed,
        `altered (SHA-256 differs) in ${where}: ${file.installed} has ${wrong.slice(0, 12)}…, the manifest says ${file.sha256.slice(0, 12)}…`,
      );
      return;
    }
    this.problems.delete(file.installed);
    this.remaining.delete(file.key);
    this.written.push(file.installed);
  }

  /** From a download of the part's official address (an archive or the single file itself). */
  async fromDownload(local: string, source: ArtefactSource): Promise<void> {
    if (this.part.root === undefined) {
      const [file] = this.remaining.values();
      if (file) await this.take(file, createReadStream(local), source.description);
      return;
    }
    const byEntry = new Map([...this.remaining.values()].map((f) => [`${this.part.root}${this.part.renames?.[f.key] ?? f.key}`, f]));
    try {
      await eachZipEntry(local, async (name, open) => {
        const file = byEntry.get(name);
        if (file && this.remaining.has(file.key)) await this.take(file, await open(), `${this.part.url} from ${source.description}`);
      });
    } catch (err) {
      for (const f of this.remaining.values())
        this.problems.set(f.installed, `${this.part.url} from ${source.description} is not a readable zip archive (${errorMessage(err)})`);
    }
  }

  /** From files laid out as installed. */
  async fromLayout(source: ArtefactSource): Promise<void> {
    for (const file of [...this.remaining.values()]) {
      const path = source.file?.(file.installed, this.part.root === undefined ? file.key : undefined);
      if (path) await this.take(file, createReadStream(path), source.description);
    }
  }

  /** What is still missing, with the best reason known. */
  missing(searched: string): string[] {
    return [...this.remaining.values()].map((f) => this.problems.get(f.installed) ?? `missing: ${f.installed} (not in ${searched})`);
  }
}

/** Removes files of a refused component from the new tree, and every folder left empty. */
function removeFiles(tree: string, files: string[]): void {
  for (const rel of files) rmSync(join(tree, rel), { force: true });
  const prune = (dir: string): boolean => {
    let empty = true;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || !prune(join(dir, entry.name))) empty = false;
    }
    if (empty && dir !== tree) rmdirSync(dir);
    return empty;
  };
  prune(tree);
}

/** Undoes an install that stopped between its two renames, and clears leftovers of stopped installs. */
function recoverInterrupted(home: string): void {
  const parent = dirname(home);
  if (!existsSync(parent)) return;
  const name = basename(home);
  const leftovers = readdirSync(parent).filter((n) => n.startsWith(`${name}.previous-`) || n.startsWith(`${name}.staging-`));
  for (const n of leftovers) {
    if (n.startsWith(`${name}.previous-`) && !existsSync(home)) renameSync(join(parent, n), home);
    else rmSync(join(parent, n), { recursive: true, force: true });
  }
}

/** Hard-links (or copies) an intact installed component into the new tree. */
function carryOver(id: string, home: string, tree: string, state: InstalledState): void {
  const paths = [...componentFiles(id).map((f) => f.installed), ...Object.keys(state.components[id]?.sef ?? {})];
  for (const rel of paths) {
    const target = join(tree, rel);
    mkdirSync(dirname(target), { recursive: true });
    try {
      linkSync(join(home, rel), target);
    } catch {
      copyFileSync(join(home, rel), target);
    }
  }
}

/**
 * Installs the official artefacts: every file is checked against the SHA-256 in the manifest as it
 * is unpacked, stylesheets are compiled for SaxonJS, and the new tree replaces the old one only
 * when complete (a staging folder and a rename). A component is installed whole or not at all;
 * one that a source lacks is reported, and the others are installed.
 */
export async function installStandards(options: InstallOptions = {}): Promise<InstallResult> {
  const home = options.home ?? standardsHome();
  const progress = options.progress ?? (() => undefined);
  const m = manifest();
  recoverInterrupted(home);
  const state = installedState(home);
  const intact = new Set(Object.keys(m.components).filter((id) => componentInstalled(id, state) && verifyComponent(id, home, state).length === 0));
  const wanted = Object.keys(m.components).filter((id) => options.force || !intact.has(id));
  const result: InstallResult = { target: home, installed: [], kept: [], failed: [] };
  if (!wanted.length) {
    result.kept = [...intact];
    return result;
  }
  const sources = parseSources(options.from ?? processEnvironment().standardsMirror, progress, options.policy ?? defaultDownloadPolicy());
  const searched = sources.map((s) => s.description).join(', ');
  const staging = `${home}.staging-${process.pid}-${Date.now()}`;
  const tree = join(staging, 'tree');
  const next: InstalledState = { components: {} };
  try {
    mkdirSync(tree, { recursive: true });
    for (const [i, source] of sources.entries()) await source.prepare?.(scratchFor(join(staging, 'downloads'), i));
    for (const id of wanted) {
      const component = m.components[id]!;
      const files = componentFiles(id, m);
      const written: string[] = [];
      const problems: string[] = [];
      for (const part of component.parts) {
        const collector = new PartCollector(
          part,
          files.filter((f) => f.part === part),
          tree,
        );
        for (const [i, source] of sources.entries()) {
          if (collector.done) break;
          try {
            const local = await source.fetch?.(part.url, scratchFor(join(staging, 'downloads'), i));
            if (local) await collector.fromDownload(local, source);
          } catch (err) {
            problems.push(errorMessage(err));
          }
          if (!collector.done) await collector.fromLayout(source);
        }
        written.push(...collector.written);
        if (!collector.done) problems.push(...collector.missing(searched));
      }
      const sef: Record<string, string> = {};
      const record = (rel: string): void => {
        written.push(rel);
        sef[rel] = createHash('sha256')
          .update(readFileSync(join(tree, rel)))
          .digest('hex');
      };
      if (!problems.length) {
        for (const rules of component.schematron ?? []) {
          const output = `${component.folder}${rules.output}`;
          // the compiler is another component: newly written in this tree, or installed before
          const pipeline = [join(tree, rules.pipeline), join(home, rules.pipeline)].find((p) => existsSync(p));
          if (!pipeline) {
            problems.push(`the Schematron compiler ${rules.pipeline} is not installed (component ${componentOf(rules.pipeline) ?? '?'})`);
            continue;
          }
          progress(`compiling the Schematron ${component.folder}${rules.source} to XSLT (SchXslt)`);
          try {
            mkdirSync(dirname(join(tree, output)), { recursive: true });
            await compileSchematron(pipeline, join(tree, component.folder, rules.source), join(tree, output));
            record(output);
          } catch (err) {
            problems.push(errorMessage(err));
          }
        }
      }
      if (!problems.length) {
        for (const sheet of component.compile ?? []) {
          const xslt = `${component.folder}${sheet}`;
          progress(`compiling ${xslt} for SaxonJS (the first time takes up to a minute)`);
          try {
            await compileSef(join(tree, xslt), join(tree, sefPath(xslt)));
            record(sefPath(xslt));
          } catch (err) {
            problems.push(errorMessage(err));
          }
        }
      }
      if (problems.length) {
        removeFiles(tree, written);
        result.failed.push({ component: id, problems });
        if (intact.has(id)) {
          carryOver(id, home, tree, state);
          next.components[id] = state.components[id]!;
          result.kept.push(id);
        }
        continue;
      }
      next.components[id] = { digest: componentDigest(id, m), version: component.version, installedAt: new Date().toISOString(), source: searched, sef };
      result.installed.push(id);
    }
    for (const id of intact) {
      if (wanted.includes(id)) continue;
      carryOver(id, home, tree, state);
      next.components[id] = state.components[id]!;
      result.kept.push(id);
    }
    if (!result.installed.length) return result;
    writeFileSync(join(tree, STATE_FILE), `${JSON.stringify(next, null, 1)}\n`);
    const previous = `${home}.previous-${process.pid}`;
    mkdirSync(dirname(home), { recursive: true });
    if (existsSync(home)) renameSync(home, previous);
    renameSync(tree, home);
    rmSync(previous, { recursive: true, force: true });
    return result;
  } catch (err) {
    if (err instanceof ArtefactError) throw err;
    throw new ArtefactError(`installing the validation artefacts failed: ${errorMessage(err)}`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
