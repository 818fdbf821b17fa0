import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { processEnvironment } from '../environment.js';
import { errorMessage } from '../errors.js';
import { installedRulesets, installedState, type InstalledState } from './artefacts.js';
import type { ProfileName } from './engine.js';
import { manifest, type ReleaseFeed } from './manifest.js';
import { parseSources } from './sources.js';

/** One release of a profile's rules as the manifest knows it, and where it stands. */
export interface ReleaseLine {
  profile: ProfileName;
  release: string;
  label: string;
  effective: string;
  installed: boolean;
  /** the release validation uses for an invoice issued today */
  inForce: boolean;
}

/** Every release the manifest knows, installed or not, with the one in force today marked. */
export function releaseLines(today = new Date().toISOString().slice(0, 10), state: InstalledState = installedState()): ReleaseLine[] {
  const lines: ReleaseLine[] = [];
  for (const profile of Object.keys(manifest().rulesets) as ProfileName[]) {
    const installed = installedRulesets(profile, state);
    const current = installed.filter((r) => r.effective <= today).pop() ?? installed[0];
    for (const r of [...manifest().rulesets[profile]].sort((a, b) => a.effective.localeCompare(b.effective))) {
      lines.push({ profile, release: r.release, label: r.label, effective: r.effective, installed: installed.includes(r), inForce: r === current });
    }
  }
  return lines;
}

/** "3.0.21" vs "3.0.9", "2025-11-27" vs "2026-05-01": compared number by number. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/\D+/).filter(Boolean).map(Number);
  const pb = b.split(/\D+/).filter(Boolean).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

/** What a profile's release feed says: tags newer than the newest release this manifest knows. */
export interface PublishedCheck {
  profile: ProfileName;
  feed: string;
  known: string;
  newer: string[];
  error?: string;
}

/**
 * Reads each profile's release feed (the official repository's Atom feed of tags, or its copy in
 * STANDARDS_MIRROR / --from) and lists tags newer than the newest release in the manifest.
 */
export async function publishedReleases(from?: string): Promise<PublishedCheck[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'igw-feeds-'));
  const sources = parseSources(from ?? processEnvironment().standardsMirror, () => undefined, { attempts: 1, pauseMs: 0, timeoutMs: 15_000 });
  const parser = new XMLParser({ ignoreAttributes: true });
  const checks: PublishedCheck[] = [];
  try {
    for (const [profile, feed] of Object.entries(manifest().feeds) as [ProfileName, ReleaseFeed][]) {
      const check: PublishedCheck = { profile, feed: feed.url, known: feed.known, newer: [] };
      checks.push(check);
      let text: string | undefined;
      const reasons: string[] = [];
      for (const source of sources) {
        try {
          const local = await source.fetch?.(feed.url, scratch);
          if (local) {
            text = readFileSync(local, 'utf-8');
            break;
          }
        } catch (err) {
          reasons.push(errorMessage(err));
        }
      }
      if (text === undefined) {
        check.error = reasons[0] ?? `not in ${sources.map((s) => s.description).join(', ')}`;
        continue;
      }
      const parsed = parser.parse(text) as { feed?: { entry?: { title?: unknown } | { title?: unknown }[] } };
      const entries = [parsed.feed?.entry ?? []].flat();
      const pattern = new RegExp(feed.tag);
      for (const entry of entries) {
        const version = pattern.exec(String(entry.title ?? '').trim())?.[1];
        if (version && compareVersions(version, feed.known) > 0) check.newer.push(String(entry.title).trim());
      }
      check.newer.sort((a, b) => compareVersions(b.replace(/^\D+/, ''), a.replace(/^\D+/, '')));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return checks;
}
