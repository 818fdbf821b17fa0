import { basename, dirname } from 'node:path';
import picomatch from 'picomatch';
import { MappingError } from '../errors.js';
import type { CompiledMapping } from './compile.js';

/** Whether a mapping applies to a file, by its glob(s) on the name and, if set, its inbox folder. */
export function mappingMatches(mapping: CompiledMapping, filePath: string, folder?: string): boolean {
  const { match } = mapping.definition;
  const name = basename(filePath);
  if (match.folder && (folder ?? basename(dirname(filePath))) !== match.folder) return false;
  if (!match.files?.length) return Boolean(match.folder);
  return match.files.some((glob) => picomatch.isMatch(name, glob, { nocase: true, dot: false }));
}

/** The mappings whose file-name globs take this name, wherever the file lies (as if it were in each one's own folder). */
export function mappingsTakingName(mappings: CompiledMapping[], filePath: string): CompiledMapping[] {
  return mappings.filter((m) => m.definition.match.files?.length && mappingMatches(m, filePath, m.definition.match.folder));
}

/** Picks the one mapping for a file; none or several is an error that names the candidates. */
export function selectMapping(mappings: CompiledMapping[], filePath: string, options: { folder?: string; mapping?: string } = {}): CompiledMapping {
  if (options.mapping) {
    const named = mappings.find((m) => m.name === options.mapping);
    if (!named) throw new MappingError(`no mapping named '${options.mapping}' (known: ${mappings.map((m) => m.name).join(', ')})`, { file: filePath });
    return named;
  }
  const hits = mappings.filter((m) => mappingMatches(m, filePath, options.folder));
  const byName = hits.length > 1 ? hits.filter((m) => m.definition.match.files?.length) : hits;
  if (byName.length === 1) return byName[0]!;
  if (byName.length === 0) {
    const folder = options.folder ?? basename(dirname(filePath));
    // a mapping whose file names take this one, in its own folder: the file is in the wrong place (or meant for it)
    const elsewhere = mappingsTakingName(mappings, filePath);
    const hint = elsewhere.length
      ? `; ${elsewhere.map((m) => `${m.name} takes this name in folder '${m.definition.match.folder ?? '(any)'}'`).join(', ')}: move it there, or name the mapping with --mapping ${elsewhere[0]!.name}`
      : '';
    throw new MappingError(
      `no mapping applies to '${basename(filePath)}' in folder '${folder}'${hint}; mappings and their files: ${mappings.map((m) => `${m.name} (${m.definition.match.folder ? `${m.definition.match.folder}/` : ''}${(m.definition.match.files ?? ['*']).join(', ')})`).join('; ')}`,
      { file: filePath },
    );
  }
  throw new MappingError(`several mappings apply to '${basename(filePath)}': ${byName.map((m) => m.name).join(', ')}; narrow their match: globs`, {
    file: filePath,
  });
}
