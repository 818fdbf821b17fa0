import { spawnSync } from 'node:child_process';

/**
 * Apache PDFBox Preflight from Debian (libpdfbox2-java, with libactivation-java and libjaxb-api-java):
 * the PDF/A validator this machine can install. veraPDF, which knows PDF/A-3, is on no registry here.
 * Preflight checks PDF/A-1b, whose rules PDF/A-3b keeps except for a few it relaxes.
 */
const CLASSPATH = ['preflight', 'pdfbox2', 'fontbox2', 'xmpbox', 'commons-logging', 'javax.activation', 'jaxb-api']
  .map((jar) => `/usr/share/java/${jar}.jar`)
  .join(':');

/** One finding of Preflight: its rule number (ISO 19005-1 clause family) and text. */
export interface PreflightFinding {
  code: string;
  message: string;
}

/** Runs Preflight's PDF/A-1b validation on a file and returns its findings (none: valid PDF/A-1b). */
export function preflight(file: string): PreflightFinding[] {
  const run = spawnSync('java', ['-cp', CLASSPATH, 'org.apache.pdfbox.preflight.Validator_A1b', file], { encoding: 'utf-8' });
  if (run.error || (run.status !== 0 && !/not a valid PDF\/A-1b/.test(run.stdout))) {
    throw new Error(`Preflight did not run on ${file} (${run.error?.message ?? `exit ${run.status}`}): ${run.stderr || run.stdout}`);
  }
  return [...run.stdout.matchAll(/^(\d+(?:\.\d+)+) : (.+)$/gm)].map((m) => ({ code: m[1]!, message: m[2]! }));
}

/**
 * The PDF/A-1 rules that PDF/A-3 does not have: the declared part (3, not 1), a CIDSet for subset CID
 * fonts (optional from PDF/A-2 on, ISO 19005-2 6.2.11.4.2) and embedded files (allowed in PDF/A-3,
 * with an AFRelationship).
 */
export function isPdfA1Only(f: PreflightFinding): boolean {
  return (
    (f.code === '7.11.2' && /part must be 1/.test(f.message)) ||
    (f.code === '3.1.11' && /CIDSet entry is missing/.test(f.message)) ||
    ((f.code === '1.4.7' || f.code === '1.2.9') && /EmbeddedFile/.test(f.message))
  );
}
