import { processEnvironment } from '../environment.js';
import { JvmEngine, jvmUnavailable } from './jvm-engine.js';
import { SaxonJsPool } from './saxonjs-pool.js';
import { rulesetForDocument } from './artefacts.js';
import { documentHeader, syntaxOfRoot } from './header.js';
import type { ProfileName, ValidateOptions, ValidationEngine, ValidationReport } from './engine.js';

/** Picks the engine: Saxon-HE on Java where present (reference speed and correctness), else SaxonJS. */
export function createEngine(
  prefer: 'auto' | 'jvm' | 'saxon-js' = processEnvironment().validationEngine,
  options: { requestTimeoutMs?: number; saxonJar?: string } = {},
): {
  engine: ValidationEngine;
  why: string;
} {
  if (prefer === 'saxon-js') return { engine: new SaxonJsPool(), why: 'chosen explicitly' };
  const missing = jvmUnavailable(options.saxonJar);
  if (!missing) return { engine: new JvmEngine(options), why: 'Java and Saxon-HE are installed' };
  if (prefer === 'jvm') throw new Error(`the JVM validation engine cannot run: ${missing}`);
  return { engine: new SaxonJsPool(), why: `falling back to SaxonJS in worker threads: ${missing}` };
}

/** Validates and wraps the findings as a report. */
export async function validateDocument(
  engine: ValidationEngine,
  xml: string | Buffer,
  profile: ProfileName,
  options: ValidateOptions = {},
): Promise<ValidationReport> {
  const findings = await engine.validate(xml, profile, options);
  const ruleset = rulesetForDocument(xml, profile, options);
  const syntax = syntaxOfRoot(documentHeader(xml).root) ?? 'ubl';
  return {
    profile,
    syntax,
    engine: engine.name,
    artefacts: `${syntax === 'cii' ? 'UN/CEFACT CII D16B XSD' : 'UBL 2.1 XSD'}; ${ruleset.label}`,
    release: ruleset.release,
    valid: !findings.some((f) => f.severity === 'fatal'),
    findings,
  };
}

export { profileOf, type Finding, type ValidateOptions, type ProfileName, type ValidationEngine, type ValidationReport } from './engine.js';
