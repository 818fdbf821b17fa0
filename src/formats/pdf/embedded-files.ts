import { decodePDFRawStream, PDFArray, PDFDict, PDFDocument, PDFHexString, PDFName, PDFRawStream, PDFString } from 'pdf-lib';

/** A file carried inside a PDF (a hybrid invoice's UBL, a Factur-X invoice's CII). */
export interface EmbeddedFile {
  name: string;
  content: Buffer;
}

function text(value: unknown): string | undefined {
  return value instanceof PDFString || value instanceof PDFHexString ? value.decodeText() : undefined;
}

/** The file specifications in an EmbeddedFiles name tree, leaves and kids alike. */
function fileSpecs(tree: PDFDict | undefined, found: PDFDict[] = [], depth = 0): PDFDict[] {
  // a name tree is shallow in practice; the bound keeps a crafted loop from running forever
  if (!tree || depth > 32) return found;
  const names = tree.lookupMaybe(PDFName.of('Names'), PDFArray);
  for (let i = 1; names && i < names.size(); i += 2) {
    const spec = names.lookup(i);
    if (spec instanceof PDFDict) found.push(spec);
  }
  const kids = tree.lookupMaybe(PDFName.of('Kids'), PDFArray);
  for (let i = 0; kids && i < kids.size(); i++) {
    const kid = kids.lookup(i);
    if (kid instanceof PDFDict) fileSpecs(kid, found, depth + 1);
  }
  return found;
}

/**
 * Every file embedded in a PDF document (the catalog's EmbeddedFiles and, for PDF/A-3, its AF list),
 * decoded, each once. Throws when the bytes are not a PDF.
 */
export async function embeddedFiles(pdf: Uint8Array): Promise<EmbeddedFile[]> {
  const document = await PDFDocument.load(pdf, { updateMetadata: false, ignoreEncryption: true });
  const catalog = document.catalog;
  const specs = fileSpecs(catalog.lookupMaybe(PDFName.of('Names'), PDFDict)?.lookupMaybe(PDFName.of('EmbeddedFiles'), PDFDict));
  const associated = catalog.lookupMaybe(PDFName.of('AF'), PDFArray);
  for (let i = 0; associated && i < associated.size(); i++) {
    const spec = associated.lookup(i);
    if (spec instanceof PDFDict && !specs.includes(spec)) specs.push(spec);
  }
  const files: EmbeddedFile[] = [];
  const seen = new Set<PDFRawStream>();
  for (const spec of specs) {
    const stream = spec.lookupMaybe(PDFName.of('EF'), PDFDict)?.lookup(PDFName.of('F'));
    if (!(stream instanceof PDFRawStream) || seen.has(stream)) continue;
    seen.add(stream);
    const name = text(spec.lookup(PDFName.of('UF'))) ?? text(spec.lookup(PDFName.of('F'))) ?? 'embedded';
    files.push({ name, content: Buffer.from(decodePDFRawStream(stream).decode()) });
  }
  return files;
}
