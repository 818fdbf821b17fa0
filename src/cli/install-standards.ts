import { componentInstalled, installedState, missingComponents, standardsHome, verifyComponent } from '../validation/artefacts.js';
import { installStandards } from '../validation/install.js';
import { manifest } from '../validation/manifest.js';
import { publishedReleases, releaseLines } from '../validation/releases.js';

/** "peppol 3.0.21 from 2026-08-24 (in force today)" lines for `status` and `--check`. */
export function releaseSummary(): string[] {
  return releaseLines().map(
    (r) =>
      `  ${r.profile.padEnd(8)} ${r.release.padEnd(9)} from ${r.effective}  ${r.installed ? (r.inForce ? 'installed, in force today' : 'installed') : 'NOT installed'}  (${r.label})`,
  );
}

/** `install-standards --check`: what is installed, intact, in force, and whether newer releases are published. */
async function checkCommand(from: string | undefined): Promise<number> {
  const state = installedState();
  const out: string[] = [`validation artefacts in ${standardsHome()}:`];
  let bad = 0;
  for (const [id, c] of Object.entries(manifest().components)) {
    if (!componentInstalled(id, state)) {
      bad++;
      out.push(`  ${id.padEnd(18)} NOT installed (${c.title} ${c.version})`);
      continue;
    }
    const problems = verifyComponent(id, standardsHome(), state);
    if (problems.length) bad++;
    out.push(
      `  ${id.padEnd(18)} ${problems.length ? `DAMAGED: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` and ${problems.length - 3} more` : ''}` : 'installed, every file intact'}`,
    );
  }
  out.push('', 'rules by invoice issue date:', ...releaseSummary(), '');
  let newer = 0;
  for (const check of await publishedReleases(from)) {
    if (check.error) out.push(`  ${check.profile}: could not check for newer releases: ${check.error}`);
    else if (check.newer.length) {
      newer++;
      out.push(
        `  ${check.profile}: NEWER RELEASE PUBLISHED: ${check.newer.join(', ')} (this version of invoice-gateway knows up to ${check.known}); update invoice-gateway to get it, then run install-standards`,
      );
    } else out.push(`  ${check.profile}: no newer release than ${check.known} published`);
  }
  if (bad) out.push('', `${bad} component(s) missing or damaged: run  npx invoice-gateway install-standards`);
  process.stdout.write(`${out.join('\n')}\n`);
  return bad ? 1 : newer ? 3 : 0;
}

/** `invoice-gateway install-standards`: downloads, checks and installs the official validation artefacts. */
export async function installStandardsCommand(opts: { ifNeeded?: boolean; from?: string; force?: boolean; check?: boolean }): Promise<number> {
  if (opts.check) return checkCommand(opts.from);
  if (opts.ifNeeded && !opts.force && missingComponents().length === 0) {
    process.stdout.write(`validation artefacts already installed in ${standardsHome()}\n`);
    return 0;
  }
  const result = await installStandards({ from: opts.from, force: opts.force, progress: (line) => process.stderr.write(`${line}\n`) });
  const m = manifest();
  const name = (id: string): string => `${id}: ${m.components[id]!.title}, ${m.components[id]!.version}`;
  const out: string[] = [];
  if (result.installed.length)
    out.push(`installed into ${result.target}, every file checked against its SHA-256:`, ...result.installed.map((id) => `  ${name(id)}`));
  if (result.kept.length) out.push(`already installed and intact:`, ...result.kept.map((id) => `  ${name(id)}`));
  if (result.failed.length) {
    out.push('NOT installed (nothing of these was kept half-way):');
    for (const f of result.failed) {
      out.push(`  ${name(f.component)}:`, ...f.problems.slice(0, 8).map((p) => `    ${p}`));
      if (f.problems.length > 8) out.push(`    … and ${f.problems.length - 8} more`);
    }
    out.push('Give a source that has them with --from <folder|archive|URL> or STANDARDS_MIRROR, and run install-standards again.');
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return result.failed.length ? 1 : 0;
}
