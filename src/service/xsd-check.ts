import { createRequire } from 'node:module';
import { parentPort, Worker, workerData } from 'node:worker_threads';

/** The verdict of one XSD check: valid, the schema's findings, or why the checker could not run. */
export type XsdVerdict = { valid: true } | { valid: false; messages: string[] } | { failed: string };

interface Job {
  role: 'xsd-check';
  xml: string;
  schema: string;
}

const job = workerData as Job | undefined;
if (parentPort && job?.role === 'xsd-check') {
  // inside the worker: xsd-schema-validator runs Java and writes the document to its stdin; should
  // that JVM die, the library's unguarded pipe error ends this thread, not the gateway
  const port = parentPort;
  const { validateXML } = createRequire(import.meta.url)('xsd-schema-validator') as { validateXML(xml: string, schema: string): Promise<{ valid: boolean }> };
  validateXML(job.xml, job.schema).then(
    () => port.postMessage({ valid: true } satisfies XsdVerdict),
    (err: Error & { messages?: string[] }) =>
      port.postMessage((err.messages?.length ? { valid: false, messages: err.messages } : { failed: err.message }) satisfies XsdVerdict),
  );
}

/** Checks an XML file against an XSD (xsd-schema-validator, one JVM) on a thread of its own. */
export function checkXsd(xml: string, schema: string): Promise<XsdVerdict> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { role: 'xsd-check', xml, schema } satisfies Job });
    let settled = false;
    const settle = (verdict: XsdVerdict): void => {
      if (settled) return;
      settled = true;
      resolve(verdict);
      void worker.terminate();
    };
    worker.once('message', (verdict: XsdVerdict) => settle(verdict));
    worker.once('error', (err) => settle({ failed: `the XSD checker stopped: ${err.message}` }));
    worker.once('exit', (code) => settle({ failed: `the XSD checker ended (exit code ${code}) before it answered` }));
  });
}
