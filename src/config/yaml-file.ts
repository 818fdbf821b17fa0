import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError } from '../errors.js';
import { SCHEMA_DIR } from '../paths.js';
import { didYouMean } from './suggest.js';
import { withKindLists } from './schema-kinds.js';

/** A parsed YAML file that can still tell where each value stands. */
export interface YamlSource<T> {
  file: string;
  value: T;
  /** line and column (1-based) of the value at a path, for errors found after the schema check */
  locate(path: readonly (string | number)[]): { line?: number; column?: number };
}

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, allowUnionTypes: true });
const compiled = new Map<string, ValidateFunction>();

/** Compiles (once) the JSON Schema `schemas/<name>.schema.json`. */
function schemaValidator(name: string): ValidateFunction {
  let validate = compiled.get(name);
  if (!validate) {
    const schema = withKindLists(name, JSON.parse(readFileSync(join(SCHEMA_DIR, `${name}.schema.json`), 'utf-8')) as Record<string, unknown>);
    validate = ajv.compile(schema);
    compiled.set(name, validate);
  }
  return validate;
}

function pointerSteps(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Walks the YAML tree by path; map keys compare as text, so "1" finds a customer numbered 1. */
function nodeAt(doc: Document, steps: readonly (string | number)[]): Node | undefined {
  let node: unknown = doc.contents;
  for (const step of steps) {
    if (isMap(node)) {
      node = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step))?.value;
    } else if (isSeq(node)) {
      node = node.items[Number(step)];
    } else {
      return undefined;
    }
  }
  return isNode(node) ? node : undefined;
}

/** The key node of `property` in the map at `steps` (to point at an unknown key itself). */
function keyNode(doc: Document, steps: readonly (string | number)[], property: string): Node | undefined {
  const map = nodeAt(doc, steps);
  if (!isMap(map)) return undefined;
  const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === property);
  return pair && isNode(pair.key) ? pair.key : undefined;
}

/** " for format csv" when the keys that failed belong to one kind's branch of the schema (a reader, a target). */
function kindOf(err: ErrorObject): string {
  if (!(err.parentSchema as { title?: string } | undefined)?.title || !err.data || typeof err.data !== 'object') return '';
  const data = err.data as Record<string, unknown>;
  const tag = ['format', 'kind'].find((key) => typeof data[key] === 'string');
  return tag ? ` for ${tag} ${String(data[tag])}` : '';
}

function describe(err: ErrorObject): string {
  const where = err.instancePath ? pointerSteps(err.instancePath).join('.') : 'top level';
  switch (err.keyword) {
    case 'additionalProperties': {
      const name = String((err.params as { additionalProperty: string }).additionalProperty);
      const known = Object.keys((err.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const scope = (err.instancePath ? `in ${where}` : 'at the top level') + kindOf(err);
      return `unknown key '${name}' ${scope}${didYouMean(name, known)}${known.length && !didYouMean(name, known) ? ` (known keys: ${known.join(', ')})` : ''}`;
    }
    case 'enum': {
      const allowed = (err.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const label = String(
        pointerSteps(err.instancePath)
          .filter((s) => typeof s === 'string')
          .pop() ?? 'value',
      );
      return `unknown ${label} '${String(err.data)}'${didYouMean(String(err.data), allowed) || ` (one of: ${allowed.join(', ')})`}`;
    }
    case 'required':
      return `${where === 'top level' ? 'the file' : where} needs '${(err.params as { missingProperty: string }).missingProperty}'`;
    case 'type':
      return `${where} must be ${(err.params as { type: string }).type}, found ${Array.isArray(err.data) ? 'a list' : typeof err.data === 'object' && err.data !== null ? 'a mapping' : JSON.stringify(err.data)}`;
    default:
      return `${where} ${err.message ?? 'is not valid'}`;
  }
}

/** Keeps the most useful errors: ajv reports every branch of a oneOf/anyOf, people need the leaf. */
function usefulErrors(errors: ErrorObject[]): ErrorObject[] {
  const leaves = errors.filter((e) => !['oneOf', 'anyOf', 'if', 'not'].includes(e.keyword));
  const seen = new Set<string>();
  return (leaves.length ? leaves : errors).filter((e) => {
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Several config errors reported at once (every problem in a file, not just the first). */
export class ConfigErrors extends ConfigError {
  constructor(readonly errors: ConfigError[]) {
    super(errors.map((e) => e.describe()).join('\n'), errors[0]?.location ?? {});
  }
  override describe(): string {
    return this.message;
  }
}

/** Reads a YAML file, checks it against `schemas/<schema>.schema.json`; errors name file:line:column. */
export function loadYaml<T>(file: string, schema: string, displayName = file): YamlSource<T> {
  let text: string;
  try {
    text = readFileSync(file, 'utf-8');
  } catch (err) {
    throw new ConfigError(`cannot read: ${(err as Error).message}`, { file: displayName });
  }
  return parseYaml<T>(text, schema, displayName);
}

/** Parses YAML text and checks it against a schema (see loadYaml). */
export function parseYaml<T>(text: string, schema: string, file: string): YamlSource<T> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): { line?: number; column?: number } => {
    if (offset === undefined) return {};
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  if (doc.errors.length) {
    throw new ConfigErrors(doc.errors.map((e) => new ConfigError(`YAML syntax: ${e.message.split('\n')[0]}`, { file, ...at(e.pos[0]) })));
  }
  const value = (doc.toJS({ maxAliasCount: 100 }) ?? {}) as T;
  const validate = schemaValidator(schema);
  if (!validate(value)) {
    const errors = usefulErrors(validate.errors ?? []).map((err) => {
      const steps = pointerSteps(err.instancePath);
      const node =
        err.keyword === 'additionalProperties'
          ? keyNode(doc, steps, String((err.params as { additionalProperty: string }).additionalProperty))
          : nodeAt(doc, steps);
      const pos = at(node?.range?.[0]);
      return new ConfigError(describe(err), { file, line: pos.line, column: pos.column, path: steps.join('.') || undefined });
    });
    throw new ConfigErrors(errors);
  }
  return {
    file,
    value,
    locate: (path) => at(nodeAt(doc, path)?.range?.[0]),
  };
}
