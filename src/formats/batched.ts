import { BATCHED_FORMATS, type BatchedFormat } from '../kinds/formats.js';

export { BATCHED_FORMATS, type BatchedFormat };

/** Whether a route's format is batched into accounting import files. */
export function isBatchedFormat(format: string): format is BatchedFormat {
  return (BATCHED_FORMATS as readonly string[]).includes(format);
}
