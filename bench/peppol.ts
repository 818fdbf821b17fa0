/**
 * Peppol lookups and submissions against the local network stubs (DNS on 127.0.0.1, an HTTPS SMP
 * with signed metadata, a Storecove-like access point), eight at a time. Anchors: a bare HTTPS GET
 * of the same SMP answer (the floor of a cold lookup) and a bare POST of the same submission.
 */
import { X509Certificate } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { SqliteLedger } from '../src/ledger/sqlite.js';
import { StorecoveAccessPoint } from '../src/peppol/access-points.js';
import { BILLING_PROCESS, DOCUMENT_TYPES, serviceMetadataUrl, smlHostname } from '../src/peppol/identifiers.js';
import { PeppolDirectory } from '../src/peppol/lookup.js';
import { verifySmpSignature } from '../src/peppol/smp.js';
import { StorecoveStub } from '../test/helpers/access-points.js';
import { FakeSml, FakeSmp, serviceMetadata, signMetadata, testSmpPki } from '../test/helpers/peppol-network.js';
import { tempDir } from '../test/helpers/paths.js';

const COUNT = Number(process.argv[2] ?? 400);
const PARALLEL = 8;

async function timed(count: number, work: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < count) await work(next++);
    }),
  );
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

const sml = new FakeSml();
const smp = new FakeSmp();
const pki = testSmpPki();
const stub = new StorecoveStub('bench-key');
await Promise.all([sml.start(), smp.start(), stub.start()]);
const participants = Array.from({ length: COUNT }, (_, i) => `0106:${String(20000000 + i)}`);
for (const p of participants) {
  sml.register(p, smp.url);
  smp.answer(p, DOCUMENT_TYPES.invoice, {
    status: 200,
    body: signMetadata(serviceMetadata(p, DOCUMENT_TYPES.invoice, 'https://ap.test/as4'), pki.signerKey, pki.signerCert),
  });
}
const ledger = new SqliteLedger(join(tempDir('igw-bench-peppol-'), 'ledger.sqlite'));
const directory = new PeppolDirectory(
  { sml: sml.zone, dns: [sml.server], smpTrust: [pki.caCert], smpTlsCa: [smp.tls.cert], cacheTtlMs: 3_600_000, timeoutMs: 5000 },
  ledger,
);

const ca = [...rootCertificates, readFileSync(smp.tls.cert, 'utf-8')];
const bareGet = (url: string) =>
  new Promise<void>((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
const anchorGet = await timed(COUNT, (i) => bareGet(serviceMetadataUrl(smp.url, { value: participants[i]! }, DOCUMENT_TYPES.invoice)));
// the parts of a cold lookup on their own: the DNS query, and the signature check (CPU only)
const resolver = new Resolver();
resolver.setServers([sml.server]);
const dnsOnly = await timed(COUNT, (i) => resolver.resolveNaptr(smlHostname({ value: participants[i]! }, sml.zone)));
const signed = signMetadata(serviceMetadata(participants[0]!, DOCUMENT_TYPES.invoice, 'https://ap.test/as4'), pki.signerKey, pki.signerCert);
const trusted = [new X509Certificate(readFileSync(pki.caCert))];
const signatureOnly = await timed(COUNT, async () => {
  if (!verifySmpSignature(signed, trusted).verdict.ok) throw new Error('the bench metadata should verify');
});
const cold = await timed(COUNT, (i) => directory.lookup(participants[i]!, 'invoice'));
const warm = await timed(COUNT, (i) => directory.lookup(participants[i]!, 'invoice'));

const document = Buffer.from('<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>'.padEnd(8000, ' '));
const ap = new StorecoveAccessPoint('bench', { kind: 'peppol', accessPoint: 'storecove', url: stub.url, token: 'bench-key', legalEntityId: 1 });
const submissions = await timed(COUNT, (i) =>
  ap.submit({
    sender: '0106:1',
    receiver: participants[i]!,
    documentType: DOCUMENT_TYPES.invoice,
    process: BILLING_PROCESS,
    document,
    instanceId: `bench-${i}`,
  }),
);
const body = JSON.stringify({
  legalEntityId: 1,
  routing: { eIdentifiers: [{ scheme: '0106', id: '1' }] },
  document: { rawDocumentData: { document: document.toString('base64') } },
});
const anchorPost = await timed(COUNT, () =>
  fetch(`${stub.url}/api/v2/document_submissions`, {
    method: 'POST',
    headers: { authorization: 'Bearer bench-key', 'content-type': 'application/json' },
    body,
  }).then((r) => r.text()),
);

await ledger.close();
await Promise.all([sml.stop(), smp.stop(), stub.stop()]);
console.log(JSON.stringify({ count: COUNT, parallel: PARALLEL, cold, warm, anchorGet, dnsOnly, signatureOnly, submissions, anchorPost }));
