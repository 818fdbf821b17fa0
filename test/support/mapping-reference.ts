/**
 * The README's reference of every mapping key, generated from schemas/mapping.schema.json (its
 * descriptions), so that the documentation says what the schema takes and nothing else.
 *   npm run docs:mapping   writes it into README.md between its two markers
 * A unit test fails while the README's copy differs, and names any key without a description.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.js';

type Node = {
  $ref?: string;
  description?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Node>;
  items?: Node;
  additionalProperties?: Node | boolean;
  allOf?: { if?: { properties?: Record<string, { const?: string }> }; then?: Node }[];
  required?: string[];
  title?: string;
  oneOf?: Node[];
  anyOf?: Node[];
};

export const README = join(ROOT, 'README.md');
export const START = '<!-- mapping-reference:start (generated from schemas/mapping.schema.json by `npm run docs:mapping`) -->';
export const END = '<!-- mapping-reference:end -->';

const schema = (): Node & { $defs: Record<string, Node> } => JSON.parse(readFileSync(join(ROOT, 'schemas', 'mapping.schema.json'), 'utf-8')) as never;

/** A short type: "value", "text", "list of texts", "yes/no", one of the allowed words. */
function kindOf(node: Node, defs: Record<string, Node> = {}): string {
  if (node.$ref) {
    const name = node.$ref.split('/').pop()!;
    // a shared list of words is shown as its words; a shared section by its name
    return defs[name]?.enum ? kindOf(defs[name]!, defs) : name;
  }
  const either = node.oneOf ?? node.anyOf;
  if (either) return either.map((n) => kindOf(n, defs)).join(' or ');
  if (node.enum) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  const type = [node.type ?? 'object'].flat()[0];
  if (type === 'array') return `list of ${node.items ? kindOf(node.items, defs) : 'items'}`;
  if (type === 'boolean') return 'yes/no';
  if (type === 'integer' || type === 'number') return 'number';
  if (type === 'string') return 'text';
  return node.properties ? 'section' : 'map';
}

const escape = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Rows of one section: each key with its type and description, then the keys under it. */
function rows(node: Node, path: string, out: string[][], missing: string[], defs: Record<string, Node>): void {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const at = path ? `${path}.${key}` : key;
    if (!child.description) missing.push(at);
    const required = node.required?.includes(key) ? ' (required)' : '';
    out.push([`\`${at}\``, kindOf(child, defs) + required, escape(child.description ?? '')]);
    // a section of our own is listed key by key; a shared definition (value, party) has its own table
    if (child.properties && !child.$ref) rows(child, at, out, missing, defs);
    if (child.items?.properties) rows(child.items, `${at}[]`, out, missing, defs);
    const ref = child.$ref?.split('/').pop();
    if (ref && ref !== 'value' && defs[ref]?.properties) {
      const sub = defs[ref]!;
      rows(sub, at, out, missing, defs);
    }
    if (child.items?.$ref) {
      const ref2 = child.items.$ref.split('/').pop()!;
      if (defs[ref2]?.properties) rows(defs[ref2]!, `${at}[]`, out, missing, defs);
    }
  }
}

const table = (body: string[][]): string => ['| key | takes | meaning |', '|---|---|---|', ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');

/** The reference as markdown, and the keys that have no description. */
export function mappingReference(): { text: string; missing: string[] } {
  const s = schema();
  const missing: string[] = [];
  const parts: string[] = [];
  const top: string[][] = [];
  const { reader, invoice, line, ...rest } = s.properties!;
  rows({ ...s, properties: rest }, '', top, missing, s.$defs);
  parts.push('**The file as a whole**', '', table(top), '');
  parts.push("**`reader:`** (the options depend on `format`; another format's option is refused)", '');
  for (const branch of reader!.allOf ?? []) {
    const format = branch.if?.properties?.['format']?.const ?? '';
    const body: string[][] = [];
    rows(
      { ...branch.then!, properties: Object.fromEntries(Object.entries(branch.then!.properties ?? {}).filter(([k]) => k !== 'format')) },
      'reader',
      body,
      missing,
      s.$defs,
    );
    parts.push(`\`format: ${format}\`${body.length ? '' : ': no other options'}`, '', ...(body.length ? [table(body), ''] : []));
  }
  for (const [name, section] of [
    ['invoice', invoice!],
    ['line', line!],
  ] as const) {
    const body: string[][] = [];
    rows(section, name, body, missing, s.$defs);
    parts.push(`**\`${name}:\`** (${section.description ?? ''})`, '', table(body), '');
  }
  const value: string[][] = [];
  rows(s.$defs['value']!, '', value, missing, s.$defs);
  parts.push(
    '**A value** (every field above that takes a value): exactly one of `column`, `path`, `const`, `template`, `expr`, then the rest',
    '',
    table(value),
    '',
  );
  return { text: parts.join('\n').trim(), missing };
}

/** The README with its reference section replaced by the current one. */
export function readmeWithReference(readme: string): string {
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  if (from < 0 || to < from) throw new Error(`README.md has no ${START} ... ${END} section`);
  return `${readme.slice(0, from + START.length)}\n\n${mappingReference().text}\n\n${readme.slice(to)}`;
}

if (process.argv[1]?.endsWith('mapping-reference.js') && process.argv.includes('--write')) {
  writeFileSync(README, readmeWithReference(readFileSync(README, 'utf-8')));
  process.stdout.write(`wrote the mapping reference into ${README}\n`);
}
