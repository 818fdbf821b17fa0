import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { SignedXml } from 'xml-crypto';
import { tempDir } from './paths.js';
import { openssl, selfSignedCertificate } from './tls.js';

/** RFC 4648 Base32 written out here, so the test does not check the gateway's hostname with the gateway's own code. */
function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** The Peppol SML name of a participant, as the Peppol specification words it. */
export function expectedSmlName(participant: string, zone: string): string {
  return `${base32(createHash('sha256').update(participant.toLowerCase()).digest()).toLowerCase()}.iso6523-actorid-upis.${zone}`;
}

/** A DNS server on 127.0.0.1 (UDP) answering NAPTR queries for registered participants, NXDOMAIN otherwise. */
export class FakeSml {
  private socket?: Socket;
  readonly names = new Map<string, string>();
  queries = 0;

  constructor(readonly zone = 'sml.test.invalid') {}

  /** Publishes a participant's SMP (a U-NAPTR "Meta:SMP" record). */
  register(participant: string, smpUrl: string): void {
    this.names.set(expectedSmlName(participant, this.zone), smpUrl);
  }

  get server(): string {
    return `127.0.0.1:${(this.socket!.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    const socket = createSocket('udp4');
    socket.on('message', (message, remote) => {
      this.queries++;
      const query = dnsPacket.decode(message);
      const question = query.questions?.[0];
      const smp = question ? this.names.get(question.name.toLowerCase()) : undefined;
      const answer = dnsPacket.encode({
        type: 'response',
        id: query.id ?? 0,
        flags: dnsPacket.AUTHORITATIVE_ANSWER | (smp ? 0 : 3), // rcode 3: NXDOMAIN
        questions: query.questions ?? [],
        answers:
          smp && question?.type === 'NAPTR'
            ? [
                {
                  type: 'NAPTR',
                  name: question.name,
                  ttl: 60,
                  data: { order: 100, preference: 10, flags: 'U', services: 'Meta:SMP', regexp: `!^.*$!${smp}!`, replacement: '.' },
                } as dnsPacket.Answer,
              ]
            : [],
      });
      socket.send(answer, remote.port, remote.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    this.socket = socket;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.socket ? this.socket.close(() => resolve()) : resolve()));
  }
}

/** A test PKI: a CA that issues SMP signing certificates, one certificate it issued, and one it did not. */
export function testSmpPki(): { dir: string; caCert: string; signerKey: string; signerCert: string; strangerKey: string; strangerCert: string } {
  const dir = tempDir('igw-smp-pki-');
  const p = (n: string) => join(dir, n);
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=Test Peppol SMP CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('smp.key'), '-out', p('smp.csr'), '-subj', '/CN=Test SMP/O=Test');
  openssl('x509', '-req', '-in', p('smp.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('smp.pem'), '-days', '2');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('stranger.key'), '-out', p('stranger.pem'), '-days', '2', '-subj', '/CN=Somebody Else');
  return {
    dir,
    caCert: p('ca.pem'),
    signerKey: readFileSync(p('smp.key'), 'utf-8'),
    signerCert: readFileSync(p('smp.pem'), 'utf-8'),
    strangerKey: readFileSync(p('stranger.key'), 'utf-8'),
    strangerCert: readFileSync(p('stranger.pem'), 'utf-8'),
  };
}

/** Service metadata for one participant and document type, as a Peppol SMP (busdox 1.0) serves it, unsigned. */
export function serviceMetadata(participant: string, documentType: string, endpoint: string, process = 'urn:fdc:peppol.eu:2017:poacc:billing:01:1.0'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<SignedServiceMetadata xmlns="http://busdox.org/serviceMetadata/publishing/1.0/" xmlns:ids="http://busdox.org/transport/identifiers/1.0/" xmlns:wsa="http://www.w3.org/2005/08/addressing"><ServiceMetadata><ServiceInformation><ids:ParticipantIdentifier scheme="iso6523-actorid-upis">${participant}</ids:ParticipantIdentifier><ids:DocumentIdentifier scheme="busdox-docid-qns">${documentType}</ids:DocumentIdentifier><ProcessList><Process><ids:ProcessIdentifier scheme="cenbii-procid-ubl">${process}</ids:ProcessIdentifier><ServiceEndpointList><Endpoint transportProfile="peppol-transport-as4-v2_0"><wsa:EndpointReference><wsa:Address>${endpoint}</wsa:Address></wsa:EndpointReference><RequireBusinessLevelSignature>false</RequireBusinessLevelSignature><ServiceActivationDate>2020-01-01T00:00:00Z</ServiceActivationDate><Certificate>MIIB</Certificate><ServiceDescription>Test AP</ServiceDescription><TechnicalContactUrl>https://example.invalid</TechnicalContactUrl></Endpoint></ServiceEndpointList></Process></ProcessList></ServiceInformation></ServiceMetadata></SignedServiceMetadata>`;
}

/** Signs service metadata the way an SMP does: an enveloped XML signature (RSA-SHA256, exclusive C14N) with the certificate in KeyInfo. */
export function signMetadata(xml: string, key: string, cert: string): string {
  const sig = new SignedXml({
    privateKey: key,
    publicCert: cert,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  });
  sig.addReference({
    xpath: '/*',
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    isEmptyUri: true,
  });
  sig.computeSignature(xml, { location: { reference: '/*', action: 'append' } });
  return sig.getSignedXml();
}

/** What the fake SMP serves for one participant's path. */
export type SmpAnswer = { status: 200; body: string } | { status: 404 | 500 };

/** An SMP over HTTPS on 127.0.0.1 (a self-signed server certificate the gateway is told to trust). */
export class FakeSmp {
  private server?: Server;
  readonly answers = new Map<string, SmpAnswer>();
  readonly tls = selfSignedCertificate();
  requests = 0;

  get url(): string {
    return `https://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** Sets the answer for a participant and document type (by the URL path the SMP specification gives). */
  answer(participant: string, documentType: string, answer: SmpAnswer): void {
    this.answers.set(
      `/${encodeURIComponent(`iso6523-actorid-upis::${participant}`)}/services/${encodeURIComponent(`busdox-docid-qns::${documentType}`)}`,
      answer,
    );
  }

  async start(): Promise<void> {
    this.server = createServer({ key: readFileSync(this.tls.key), cert: readFileSync(this.tls.cert) }, (req, res) => {
      this.requests++;
      const found = this.answers.get(req.url ?? '') ?? { status: 404 as const };
      if (found.status !== 200) {
        res.writeHead(found.status).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/xml' }).end(found.body);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** gateway.yaml's `peppol:` for the fake network. */
export function peppolYaml(sml: FakeSml, smp: FakeSmp, caCert: string): string {
  return `peppol:\n  sml: ${sml.zone}\n  dns: ["${sml.server}"]\n  smpTrust: ${caCert}\n  smpTlsCa: ${smp.tls.cert}\n  cacheTtl: 1h\n  timeout: 3s\n`;
}
