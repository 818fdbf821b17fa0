import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

/** The checkout root (tests run from dist/, fixtures live in the source tree). */
export const ROOT = PROJECT_ROOT;
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const GOLDEN = join(ROOT, 'test', 'golden');
export const SAMPLES = join(ROOT, 'inbox-sample');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** A fresh temporary folder for one test. */
export function tempDir(prefix = 'igw-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
