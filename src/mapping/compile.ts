import { basename } from 'node:path';
import { ConfigError } from '../errors.js';
import { ConfigErrors, loadYaml, type YamlSource } from '../config/yaml-file.js';
import type { DocumentAllowanceChargeSpec, FieldTree, MappingDefinition, ValueSpec } from './definition.js';
import { compileDateFormat } from './parse-date.js';
import { compileCondition, compileValue, ValueProblem, type CompiledValue, type FieldKind, type ValueContext } from './value.js';
import type { SourceRecord } from '../readers/record.js';

/** Canonical fields that hold decimals (parsed with the mapping's number format). */
const DECIMAL_FIELDS = new Set([
  'quantity',
  'netPrice',
  'grossPrice',
  'baseQuantity',
  'vatRate',
  'netAmount',
  'discountAmount',
  'discountPercentage',
  'chargeAmount',
  'prepaidAmount',
  'totals.netAmount',
  'totals.vatAmount',
  'totals.payableAmount',
  'amount',
]);
/** Canonical fields that hold dates (parsed with the mapping's date format). */
const DATE_FIELDS = new Set([
  'issueDate',
  'dueDate',
  'taxPointDate',
  'validUntil',
  'delivery.date',
  'period.start',
  'period.end',
  'precedingInvoice.issueDate',
  'periodStart',
  'periodEnd',
]);

/** A compiled field: its canonical path ("buyer.address.city") and how to read it. */
export interface CompiledField {
  field: string;
  value: CompiledValue;
}

/** A compiled document charge or allowance. */
export interface CompiledAllowanceCharge {
  charge: boolean;
  fields: CompiledField[];
  when?: (record: SourceRecord) => Promise<boolean>;
}

/** A mapping ready to run: every value compiled once, at load time. */
export interface CompiledMapping {
  definition: MappingDefinition;
  /** the YAML file it came from */
  file: string;
  name: string;
  invoiceFields: CompiledField[];
  lineFields: CompiledField[];
  allowanceCharges: CompiledAllowanceCharge[];
  skipLine?: (record: SourceRecord) => Promise<boolean>;
  /** columns the mapping reads, checked against a CSV header before the first record is mapped */
  columns: Set<string>;
}

function kindOf(field: string): FieldKind {
  if (DECIMAL_FIELDS.has(field)) return 'decimal';
  if (DATE_FIELDS.has(field)) return 'date';
  return 'text';
}

function isValueSpec(node: unknown): node is ValueSpec {
  return typeof node === 'object' && node !== null && !Array.isArray(node) && ['column', 'path', 'const', 'template', 'expr'].some((k) => k in node);
}

const SOURCE_KEYS = ['column', 'path', 'const', 'template', 'expr'] as const;

/** Compiles every mapping value; problems are collected with their YAML line and column. */
class Compiler {
  readonly problems: ConfigError[] = [];
  readonly columns = new Set<string>();
  constructor(
    private readonly yaml: YamlSource<MappingDefinition>,
    private readonly ctx: ValueContext,
  ) {}

  problem(message: string, path: (string | number)[]): void {
    this.problems.push(new ConfigError(message, { file: this.yaml.file, ...this.yaml.locate(path), path: path.join('.') }));
  }

  value(spec: ValueSpec, field: string, yamlPath: (string | number)[]): CompiledValue | undefined {
    const sources = SOURCE_KEYS.filter((k) => spec[k] !== undefined);
    if (sources.length !== 1) {
      this.problem(
        sources.length ? `field ${field} has both ${sources.join(' and ')}; give exactly one` : `field ${field} needs one of ${SOURCE_KEYS.join(', ')}`,
        yamlPath,
      );
      return undefined;
    }
    for (const [i, step] of (spec.transform ?? []).entries()) {
      if (typeof step === 'object' && 'lookup' in step && !this.ctx.lookups[step.lookup])
        this.problem(`lookup table '${step.lookup}' is not defined under lookups:`, [...yamlPath, 'transform', i]);
      if (typeof step === 'object' && 'date' in step) this.dateFormat(step.date, [...yamlPath, 'transform', i]);
    }
    if (spec.lookup && !this.ctx.lookups[spec.lookup]) this.problem(`lookup table '${spec.lookup}' is not defined under lookups:`, [...yamlPath, 'lookup']);
    if (spec.date) this.dateFormat(spec.date, [...yamlPath, 'date']);
    if (spec.column !== undefined) this.columns.add(String(spec.column));
    try {
      return compileValue(spec, kindOf(field), this.ctx);
    } catch (err) {
      if (err instanceof ValueProblem) {
        this.problem(`field ${field}: ${err.message}`, yamlPath);
        return undefined;
      }
      throw err;
    }
  }

  dateFormat(format: string, path: (string | number)[]): void {
    try {
      compileDateFormat(format);
    } catch (err) {
      this.problem((err as Error).message, path);
    }
  }

  condition(expr: string, path: (string | number)[]): ((r: SourceRecord) => Promise<boolean>) | undefined {
    try {
      return compileCondition(expr);
    } catch (err) {
      this.problem((err as Error).message, path);
      return undefined;
    }
  }

  /** Walks a field tree ("invoice:" or "line:") and compiles its leaves. */
  tree(node: FieldTree, prefix: string, yamlPath: (string | number)[], skip: Set<string>): CompiledField[] {
    const out: CompiledField[] = [];
    for (const [key, child] of Object.entries(node)) {
      if (skip.has(key) || child === undefined) continue;
      const field = prefix ? `${prefix}.${key}` : key;
      if (isValueSpec(child)) {
        const value = this.value(child, field, [...yamlPath, key]);
        if (value) out.push({ field, value });
      } else if (typeof child === 'object' && !Array.isArray(child)) {
        out.push(...this.tree(child as FieldTree, field, [...yamlPath, key], new Set()));
      } else if (typeof child === 'object') {
        this.problem(`field ${field} must be a value (column, path, const, template or expr)`, [...yamlPath, key]);
      }
    }
    return out;
  }

  allowanceCharges(list: DocumentAllowanceChargeSpec[] | undefined, charge: boolean): CompiledAllowanceCharge[] {
    const key = charge ? 'charges' : 'allowances';
    return (list ?? []).map((spec, i) => {
      const path = ['invoice', key, i];
      const fields: CompiledField[] = [];
      for (const name of ['amount', 'vatCategory', 'vatRate', 'reason', 'reasonCode'] as const) {
        const s = spec[name];
        if (!s) continue;
        const value = this.value(s, name, [...path, name]);
        if (value) fields.push({ field: name, value });
      }
      return { charge, fields, when: spec.when ? this.condition(spec.when, [...path, 'when']) : undefined };
    });
  }
}

/** Compiles a parsed mapping; every problem is reported at its YAML line:column. */
export function compileMapping(yaml: YamlSource<MappingDefinition>): CompiledMapping {
  const def = yaml.value;
  const ctx: ValueContext = {
    numberFormat: def.defaults?.numberFormat ?? 'plain',
    dateFormat: def.defaults?.dateFormat ?? 'yyyy-mm-dd',
    lookups: def.lookups ?? {},
  };
  const c = new Compiler(yaml, ctx);
  if (def.defaults?.dateFormat) c.dateFormat(def.defaults.dateFormat, ['defaults', 'dateFormat']);
  if (def.reader.format !== 'ubl' && (!def.invoice || !def.line)) c.problem(`a ${def.reader.format} mapping needs invoice: and line: sections`, []);
  def.invoice ??= {};
  def.line ??= {};
  const invoiceFields = c.tree(def.invoice as FieldTree, '', ['invoice'], new Set(['charges', 'allowances']));
  const lineFields = c.tree(def.line as FieldTree, '', ['line'], new Set(['skipWhen']));
  const allowanceCharges = [...c.allowanceCharges(def.invoice.charges, true), ...c.allowanceCharges(def.invoice.allowances, false)];
  const skipLine = def.line.skipWhen ? c.condition(def.line.skipWhen, ['line', 'skipWhen']) : undefined;
  const fmt = def.reader.format;
  if ((def.group?.headerType || def.group?.lineType) && fmt !== 'fixed-width')
    c.problem('group.headerType/lineType only apply to fixed-width files', ['group']);
  if (def.group?.headerType && !def.group.lineType) c.problem('group.headerType needs group.lineType too', ['group']);
  if (def.group?.lines && (fmt === 'csv' || fmt === 'fixed-width'))
    c.problem('group.lines only applies to XML and JSON records; use group.by for CSV', ['group', 'lines']);
  if (def.reader.format === 'xml' && !def.reader.records) c.problem('an XML reader needs records: the path of one invoice element', ['reader']);
  for (const col of [def.group?.by ?? []].flat()) c.columns.add(col);
  if (c.problems.length) throw new ConfigErrors(c.problems);
  return { definition: def, file: yaml.file, name: def.source, invoiceFields, lineFields, allowanceCharges, skipLine, columns: c.columns };
}

/** Loads and compiles mappings/<name>.yaml. */
export function loadMapping(file: string, displayName = file): CompiledMapping {
  const yaml = loadYaml<MappingDefinition>(file, 'mapping', displayName);
  if (yaml.value.source !== basename(file).replace(/\.ya?ml$/, '')) {
    throw new ConfigError(`source '${yaml.value.source}' should match the file name '${basename(file)}'`, { file: displayName, ...yaml.locate(['source']) });
  }
  return compileMapping(yaml);
}
