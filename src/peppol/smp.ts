import { X509Certificate } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import xpath from 'xpath';

const DSIG = 'http://www.w3.org/2000/09/xmldsig#';

/** One endpoint of a receiver for a process, from its SMP. */
export interface SmpEndpoint {
  process: string;
  transportProfile: string;
  address: string;
  activation?: string;
  expiration?: string;
}

/** What a signature check found. */
export type SignatureVerdict = { ok: true; signer: string } | { ok: false; problem: 'missing' | 'invalid' | 'untrusted'; detail: string };

const select = xpath.useNamespaces({
  smp: 'http://busdox.org/serviceMetadata/publishing/1.0/',
  ids: 'http://busdox.org/transport/identifiers/1.0/',
  wsa: 'http://www.w3.org/2005/08/addressing',
  ds: DSIG,
});

function text(node: Node, path: string): string | undefined {
  const found = select(`string(${path})`, node) as string;
  return found.trim() || undefined;
}

function parse(xml: string): Document {
  const errors: string[] = [];
  const doc = new DOMParser({ errorHandler: (level: string, message: unknown) => void (level !== 'warning' && errors.push(String(message))) }).parseFromString(
    xml,
    'text/xml',
  );
  if (errors.length || !doc.documentElement) throw new Error(`the SMP's answer is not well-formed XML: ${errors[0] ?? 'empty'}`);
  return doc as unknown as Document;
}

/**
 * Checks the SMP's enveloped XML signature (a well-kept library, xml-crypto) and that its
 * certificate was issued by a trusted SMP CA and is valid now. Returns the signed XML to read
 * from, so that nothing outside the signature is ever used.
 */
export function verifySmpSignature(xml: string, trusted: X509Certificate[], now = new Date()): { verdict: SignatureVerdict; signed?: string } {
  const doc = parse(xml);
  const signature = select(`//*[local-name()='Signature' and namespace-uri()='${DSIG}']`, doc) as Node[];
  if (!signature.length) return { verdict: { ok: false, problem: 'missing', detail: 'the SMP answer carries no XML signature' } };
  const certText = text(signature[0]!, './/ds:X509Certificate');
  if (!certText) return { verdict: { ok: false, problem: 'invalid', detail: 'the signature names no certificate' } };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(certText.replace(/\s+/g, ''), 'base64'));
  } catch (err) {
    return { verdict: { ok: false, problem: 'invalid', detail: `the signature's certificate cannot be read: ${(err as Error).message}` } };
  }
  const checker = new SignedXml({ publicCert: cert.toString() });
  checker.loadSignature(signature[0]!);
  let valid = false;
  let why = '';
  try {
    valid = checker.checkSignature(xml);
  } catch (err) {
    why = (err as Error).message;
  }
  if (!valid) return { verdict: { ok: false, problem: 'invalid', detail: `the signature does not match the content${why ? ` (${why})` : ''}` } };
  const signer = cert.subject.replace(/\n/g, ', ');
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo))
    return { verdict: { ok: false, problem: 'untrusted', detail: `the SMP certificate (${signer}) is not valid now (${cert.validFrom} – ${cert.validTo})` } };
  if (!trusted.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey)))
    return { verdict: { ok: false, problem: 'untrusted', detail: `the SMP certificate (${signer}) was not issued by a trusted SMP CA (peppol.smpTrust)` } };
  const references = checker.getSignedReferences();
  return { verdict: { ok: true, signer }, signed: references[0] ?? xml };
}

/** The endpoints in (signed) service metadata, by process and transport profile. */
/** Whom and what signed metadata is about: its ServiceInformation's participant and document type. */
export function subjectOf(xml: string): { participant?: string; documentType?: string } {
  const doc = parse(xml);
  const info = (select('//smp:ServiceInformation', doc) as Node[])[0];
  if (!info) return {};
  return { participant: text(info, 'ids:ParticipantIdentifier'), documentType: text(info, 'ids:DocumentIdentifier') };
}

export function endpointsOf(xml: string): SmpEndpoint[] {
  const doc = parse(xml);
  const out: SmpEndpoint[] = [];
  for (const process of select('//smp:Process', doc) as Node[]) {
    const processId = text(process, 'ids:ProcessIdentifier') ?? '';
    for (const endpoint of select('smp:ServiceEndpointList/smp:Endpoint', process) as Element[]) {
      out.push({
        process: processId,
        transportProfile: endpoint.getAttribute('transportProfile') ?? '',
        address: text(endpoint, 'wsa:EndpointReference/wsa:Address') ?? text(endpoint, 'smp:EndpointURI') ?? '',
        activation: text(endpoint, 'smp:ServiceActivationDate'),
        expiration: text(endpoint, 'smp:ServiceExpirationDate'),
      });
    }
  }
  return out;
}
