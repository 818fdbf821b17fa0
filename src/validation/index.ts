import { JvmEngine, jvmUnavailable } from './jvm-engine.js';
import { SaxonJsPool } from './saxonjs-pool.js';
import { PROFILE_ARTEFACTS, type ProfileName, type ValidationEngine, type ValidationReport } from './engine.js';

/** Picks the engine: Saxon-HE on Java where present (reference speed and correctness), else SaxonJS. */
export function createEngine(prefer: 'auto' | 'jvm' | 'saxon-js' = (process.env['VALIDATION_ENGINE'] as 'jvm' | 'saxon-js' | undefined) ?? 'auto'): {
  engine: ValidationEngine;
  why: string;
} {
  if (prefer === 'saxon-js') return { engine: new SaxonJsPool(), why: 'chosen explicitly' };
  const missing = jvmUnavailable();
  if (!missing) return { engine: new JvmEngine(), why: 'Java and Saxon-HE are installed' };
  if (prefer === 'jvm') throw new Error(`the JVM validation engine cannot run: ${missing}`);
  return { engine: new SaxonJsPool(), why: `falling back to SaxonJS in worker threads: ${missing}` };
}

/** Validates and wraps the findings as a report. */
export async function validateDocument(engine: ValidationEngine, xml: string | Buffer, profile: ProfileName): Promise<ValidationReport> {
  const findings = await engine.validate(xml, profile);
  return { profile, engine: engine.name, artefacts: PROFILE_ARTEFACTS[profile], valid: !findings.some((f) => f.severity === 'fatal'), findings };
}

export { profileOf, type Finding, type ProfileName, type ValidationEngine, type ValidationReport } from './engine.js';
