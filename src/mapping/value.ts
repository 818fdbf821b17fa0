import jsonata from 'jsonata';
import { dec } from '../model/decimal.js';
import { getPath, splitPath } from '../readers/path.js';
import type { SourceRecord } from '../readers/record.js';
import type { TransformSpec, ValueSpec } from './definition.js';
import { parseDate } from './parse-date.js';
import { parseNumber, type NumberFormat } from './parse-number.js';
import { own } from '../util/own.js';
import { quoteValue } from '../errors.js';

/**
 * Bounds for a mapping's JSONata expressions: one that does not terminate is stopped with an error
 * for that record instead of starving the event loop (the service would ignore SIGTERM).
 */
export const EXPRESSION_LIMITS = { timeout: 1000, stack: 500, sequence: 1_000_000 } as const;

/** A time-boxed, depth-bounded JSONata expression. */
export function boundedExpression(expr: string): ReturnType<typeof jsonata> {
  return jsonata(expr, { ...EXPRESSION_LIMITS });
}

/** The message of a JSONata error, with the limits named when one was hit. */
function expressionFailure(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'D1012') return `it ran longer than ${EXPRESSION_LIMITS.timeout} ms and was stopped (does it loop?)`;
  if (e.code === 'D1011') return `it nested deeper than ${EXPRESSION_LIMITS.stack} levels and was stopped (endless recursion?)`;
  return e.message ?? String(err);
}

/** What a canonical field holds, which decides how its text is checked and normalised. */
export type FieldKind = 'text' | 'decimal' | 'date';

/** A problem with one value; the mapper adds the file, line and field. */
export class ValueProblem extends Error {}

/** A compiled value spec: reads a record and returns the canonical text (or undefined when empty). */
export interface CompiledValue {
  /** the column or path this value reads, for error locations */
  column?: string;
  path?: string;
  /** true when the value needs an async JSONata evaluation */
  async: boolean;
  get(record: SourceRecord): string | undefined | Promise<string | undefined>;
}

/** Mapping-wide settings a value needs. */
export interface ValueContext {
  numberFormat: NumberFormat;
  dateFormat: string;
  lookups: Record<string, Record<string, string | number | boolean>>;
}

function scalarText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'object' && '#text' in (value as object)) return scalarText((value as Record<string, unknown>)['#text']);
  throw new ValueProblem(`expected a single value but found ${Array.isArray(value) ? 'a list' : 'a nested element'}`);
}

function isEmpty(text: string | undefined): text is undefined {
  return text === undefined || text.trim() === '';
}

function lookupIn(ctx: ValueContext, table: string, text: string): string {
  const entries = own(ctx.lookups, table);
  if (!entries) throw new ValueProblem(`lookup table "${table}" is not defined under lookups:`);
  const hit = own(entries, text) ?? own(entries, text.trim()) ?? own(entries, text.trim().toLowerCase());
  if (hit === undefined) {
    if (Object.hasOwn(entries, '*')) return String(entries['*']);
    throw new ValueProblem(`${quoteValue(text)} is not in lookup table "${table}" (known: ${Object.keys(entries).slice(0, 12).join(', ')})`);
  }
  return String(hit);
}

function applyTransform(step: TransformSpec, text: string | undefined, ctx: ValueContext): string | undefined {
  if (typeof step === 'string') {
    if (text === undefined) return undefined;
    switch (step) {
      case 'trim':
        return text.trim();
      case 'upper':
        return text.toUpperCase();
      case 'lower':
        return text.toLowerCase();
      case 'digits':
        return text.replace(/\D/g, '');
      case 'strip-leading-zeros':
        return text.replace(/^0+(?=.)/, '');
      case 'collapse-spaces':
        return text.replace(/\s+/g, ' ').trim();
      case 'negate':
        return isEmpty(text) ? text : dec(text).neg().toFixed();
    }
  }
  if ('default' in step) return isEmpty(text) ? scalarText(step.default) : text;
  if (isEmpty(text)) return text;
  if ('replace' in step) return text.split(step.replace[0]).join(step.replace[1]);
  if ('prefix' in step) return step.prefix + text;
  if ('suffix' in step) return text + step.suffix;
  if ('lookup' in step) return lookupIn(ctx, step.lookup, text);
  if ('pad' in step) return text.padStart(step.pad.length, step.pad.with ?? '0');
  if ('number' in step) return numberOrThrow(text, step.number);
  if ('date' in step) return dateOrThrow(text, step.date);
  if ('divide' in step)
    return decimalOrThrow(text)
      .div(dec(String(step.divide)))
      .toFixed();
  if ('multiply' in step)
    return decimalOrThrow(text)
      .times(dec(String(step.multiply)))
      .toFixed();
  return text;
}

function numberOrThrow(text: string, format: NumberFormat): string {
  const r = parseNumber(text, format);
  if ('error' in r) throw new ValueProblem(r.error);
  return r.value;
}

function dateOrThrow(text: string, format: string): string {
  const r = parseDate(text, format);
  if ('error' in r) throw new ValueProblem(r.error);
  return r.value;
}

function decimalOrThrow(text: string) {
  try {
    return dec(text);
  } catch {
    throw new ValueProblem(`not a number: ${quoteValue(text)} (add number: nl or number: en to read it)`);
  }
}

/** Builds the full transform chain of a spec: its list, then the shorthand default, lookup, number, date. */
function transformChain(spec: ValueSpec): TransformSpec[] {
  const chain: TransformSpec[] = [...(spec.transform ?? [])];
  // The default stands in for a missing source value, so it is looked up and parsed like one.
  if (spec.default !== undefined) chain.push({ default: spec.default });
  if (spec.lookup) chain.push({ lookup: spec.lookup });
  if (spec.number) chain.push({ number: spec.number });
  if (spec.date) chain.push({ date: spec.date });
  return chain;
}

/** Compiles a value spec for a field of the given kind; throws ValueProblem on a spec that cannot work. */
export function compileValue(spec: ValueSpec, kind: FieldKind, ctx: ValueContext): CompiledValue {
  const chain = transformChain(spec);
  const hasNumber = chain.some((s) => typeof s === 'object' && ('number' in s || 'divide' in s || 'multiply' in s)) || chain.includes('negate');
  const hasDate = chain.some((s) => typeof s === 'object' && 'date' in s);
  const finish = (raw: unknown): string | undefined => {
    let text = scalarText(raw);
    if (typeof raw === 'string' || raw === undefined) text = text === undefined ? undefined : text.trim();
    for (const step of chain) text = applyTransform(step, text, ctx);
    if (isEmpty(text)) {
      if (spec.required) throw new ValueProblem('value is required but empty');
      return undefined;
    }
    if (kind === 'decimal' && !hasNumber) {
      // JSON numbers arrive as numbers: their shortest text is the number as written.
      return typeof raw === 'number' ? numberOrThrow(text, 'plain') : numberOrThrow(text, ctx.numberFormat);
    }
    if (kind === 'date' && !hasDate) return dateOrThrow(text, ctx.dateFormat);
    return text;
  };

  if (spec.const !== undefined) {
    const value = finish(spec.const);
    return { async: false, get: () => value };
  }
  if (spec.column !== undefined) {
    const column = String(spec.column);
    return { column, async: false, get: (r) => finish(r.cell ? r.cell(column) : r.values[column]) };
  }
  if (spec.path !== undefined) {
    const steps = splitPath(spec.path);
    return { path: spec.path, async: false, get: (r) => finish(getPath(r.values, steps)) };
  }
  if (spec.template !== undefined) {
    const template = spec.template;
    return {
      async: false,
      get: (r) => finish(template.replace(/\{([^{}]+)\}/g, (_m, name: string) => scalarText(getPath(r.values, splitPath(name))) ?? '')),
    };
  }
  if (spec.expr !== undefined) {
    let expression: ReturnType<typeof jsonata>;
    try {
      expression = boundedExpression(spec.expr);
    } catch (err) {
      throw new ValueProblem(`expression does not compile: ${(err as Error).message}`);
    }
    return {
      async: true,
      get: async (r) => {
        let result: unknown;
        try {
          // a line's expressions see its order as $record (the record itself elsewhere)
          result = await expression.evaluate(r.values, { record: (r.parent ?? r).values });
        } catch (err) {
          throw new ValueProblem(`expression failed: ${expressionFailure(err)}`);
        }
        return finish(result);
      },
    };
  }
  throw new ValueProblem('a value needs one of column, path, const, template or expr');
}

/** Compiles a JSONata condition (skipWhen, when) into a predicate over a record. */
export function compileCondition(expr: string): (record: SourceRecord) => Promise<boolean> {
  let expression: ReturnType<typeof jsonata>;
  try {
    expression = boundedExpression(expr);
  } catch (err) {
    throw new ValueProblem(`condition does not compile: ${(err as Error).message}`);
  }
  return async (r) => {
    try {
      return Boolean(await expression.evaluate(r.values, { record: (r.parent ?? r).values }));
    } catch (err) {
      throw new ValueProblem(`condition failed: ${expressionFailure(err)}`);
    }
  };
}
