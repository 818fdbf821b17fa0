import { X509Certificate } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import { EnvironmentError } from '../errors.js';
import {
  AS4_PROFILE,
  BILLING_PROCESS,
  DOCUMENT_TYPES,
  parseParticipant,
  serviceMetadataUrl,
  SML_ZONES,
  smlHostname,
  type ParticipantId,
  type PeppolDocumentKind,
} from './identifiers.js';
import type { SignatureVerdict, SmpEndpoint } from './smp.js';

/** How the network is asked: gateway.yaml `peppol:`. */
export interface PeppolSettings {
  /** "production", "test" or a zone of its own */
  sml: string;
  /** DNS servers ("127.0.0.1:5353"); default: the system's */
  dns?: string[];
  /** PEM file(s) of the CAs that issue SMP certificates (the Peppol SMP CA) */
  smpTrust: string[];
  /** extra CA certificates for the HTTPS connection to SMPs (PEM files) */
  smpTlsCa?: string[];
  /** how long an answer is kept */
  cacheTtlMs: number;
  /** how long one DNS or SMP request may take */
  timeoutMs: number;
  /** how often access points are asked about messages they accepted but had not delivered yet */
  followUpEveryMs: number;
}

/** The network's answer for one participant and document type. */
export interface PeppolLookup {
  participant: string;
  document: PeppolDocumentKind;
  /** yes: can receive it; not-registered: no SMP in the SML; not-supported: the SMP lists no Peppol BIS 3 AS4 endpoint for it */
  answer: 'yes' | 'not-registered' | 'not-supported';
  reason: string;
  smp?: string;
  endpoint?: SmpEndpoint;
  signature?: SignatureVerdict;
  checkedAt: string;
}

/** Where answers are kept between lookups (the ledger). */
export interface LookupCache {
  cacheGet(key: string, now: number): Promise<string | undefined>;
  cachePut(key: string, value: string, expiresAt: number): Promise<void>;
}

/** Service metadata is a few kilobytes; a larger answer is not read further. */
const MAX_SMP_ANSWER_BYTES = 2 * 1024 * 1024;

/** The SMP answered, but its signature is missing, wrong or not trusted: nothing it says can be used. */
export class SmpSignatureError extends EnvironmentError {}

function readPems(files: string[] | undefined): string[] {
  return (files ?? []).flatMap((f) => readFileSync(f, 'utf-8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []);
}

/** The first U-NAPTR "Meta:SMP" record's URL (RFC 4848: the regexp's replacement). */
function smpFromNaptr(records: { flags: string; service: string; regexp: string; order: number; preference: number }[]): string | undefined {
  const candidates = records
    .filter((r) => r.service.toLowerCase() === 'meta:smp' && r.flags.toLowerCase() === 'u')
    .sort((a, b) => a.order - b.order || a.preference - b.preference);
  for (const r of candidates) {
    const delim = r.regexp[0];
    if (!delim) continue;
    const [, , replacement] = r.regexp.split(delim);
    if (replacement && /^https?:\/\//.test(replacement)) return replacement;
  }
  return undefined;
}

/** Finds receivers on the Peppol network the way the network does: SML (DNS U-NAPTR), then the signed SMP metadata. */
export class PeppolDirectory {
  private readonly resolver: Resolver;
  private readonly trusted: X509Certificate[];
  private readonly tlsCa: string[] | undefined;
  readonly zone: string;

  constructor(
    private readonly settings: Omit<PeppolSettings, 'followUpEveryMs'>,
    private readonly cache?: LookupCache,
  ) {
    this.zone = (SML_ZONES as Record<string, string>)[settings.sml] ?? settings.sml;
    this.resolver = new Resolver({ timeout: settings.timeoutMs, tries: 2 });
    if (settings.dns?.length) this.resolver.setServers(settings.dns);
    this.trusted = readPems(settings.smpTrust).map((pem) => new X509Certificate(pem));
    const extra = readPems(settings.smpTlsCa);
    this.tlsCa = extra.length ? [...rootCertificates, ...extra] : undefined;
  }

  /** The answer kept in the ledger, if any: what the console shows without asking the network. */
  async kept(participantText: string, document: PeppolDocumentKind, now = Date.now()): Promise<PeppolLookup | undefined> {
    const participant = parseParticipant(participantText);
    const hit = participant ? await this.cache?.cacheGet(this.key(participant, document), now) : undefined;
    return hit ? (JSON.parse(hit) as PeppolLookup) : undefined;
  }

  private key(participant: ParticipantId, document: PeppolDocumentKind): string {
    return `peppol:${this.zone}:${participant.value.toLowerCase()}:${document}`;
  }

  /** Can this participant receive this document type, and where? Cached for the configured time. */
  async lookup(participantText: string, document: PeppolDocumentKind, now = Date.now()): Promise<PeppolLookup & { cached: boolean }> {
    const participant = parseParticipant(participantText);
    if (!participant) throw new Error(`"${participantText}" is not a Peppol participant id (expected scheme:id, e.g. 0106:12345678)`);
    const key = this.key(participant, document);
    const hit = await this.cache?.cacheGet(key, now);
    if (hit) return { ...(JSON.parse(hit) as PeppolLookup), cached: true };
    const answer = await this.ask(participant, document, now);
    await this.cache?.cachePut(key, JSON.stringify(answer), now + this.settings.cacheTtlMs);
    return { ...answer, cached: false };
  }

  private async ask(participant: ParticipantId, document: PeppolDocumentKind, now: number): Promise<PeppolLookup> {
    const base = { participant: participant.value, document, checkedAt: new Date(now).toISOString() };
    const host = smlHostname(participant, this.zone);
    let records: Awaited<ReturnType<Resolver['resolveNaptr']>>;
    try {
      records = await this.resolver.resolveNaptr(host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA')
        return { ...base, answer: 'not-registered', reason: `${participant.value} is not registered in the Peppol SML (${this.zone})` };
      throw new EnvironmentError(`the Peppol SML lookup of ${participant.value} (${host}) failed: ${code ?? (err as Error).message}; it is tried again`);
    }
    const smp = smpFromNaptr(records);
    if (!smp) return { ...base, answer: 'not-registered', reason: `the SML has no Meta:SMP record for ${participant.value}` };
    const url = serviceMetadataUrl(smp, participant, DOCUMENT_TYPES[document]);
    const { status, body } = await this.get(url);
    if (status === 404)
      return {
        ...base,
        smp,
        answer: 'not-supported',
        reason: `${participant.value} does not accept Peppol BIS Billing 3 ${document}s (its SMP ${smp} lists no such document type)`,
      };
    if (status !== 200) throw new EnvironmentError(`the SMP ${smp} answered HTTP ${status} for ${participant.value}; it is tried again`);
    // the XML signature stack is loaded on the first lookup: commands that never look anything up do not pay for it
    const { verifySmpSignature, endpointsOf, subjectOf } = await import('./smp.js');
    let checked: ReturnType<typeof verifySmpSignature>;
    try {
      checked = verifySmpSignature(body, this.trusted, new Date(now));
    } catch (err) {
      throw new SmpSignatureError(`the SMP ${smp} of ${participant.value} answered with something that is not service metadata: ${(err as Error).message}`);
    }
    const { verdict, signed } = checked;
    if (!verdict.ok || !signed) throw new SmpSignatureError(`the SMP ${smp} of ${participant.value}: ${verdict.ok ? 'no signed content' : verdict.detail}`);
    // a valid signature over metadata of another participant or document type (replayed, or a wrong SMP) says nothing about this one
    const subject = subjectOf(signed);
    const sameParticipant =
      subject.participant
        ?.trim()
        .toLowerCase()
        .replace(/^iso6523-actorid-upis::/, '') === participant.value.toLowerCase();
    const sameDocument = subject.documentType?.trim() === DOCUMENT_TYPES[document];
    if (!sameParticipant || !sameDocument)
      return {
        ...base,
        smp,
        signature: verdict,
        answer: 'not-supported',
        reason: `the SMP ${smp} answered for ${participant.value} with signed metadata of ${sameParticipant ? 'another document type' : `another participant (${subject.participant ?? 'none'})`}; it is not used`,
      };
    const day = new Date(now).toISOString();
    const endpoint = endpointsOf(signed).find(
      (e) =>
        e.process === BILLING_PROCESS && e.transportProfile === AS4_PROFILE && (!e.activation || e.activation <= day) && (!e.expiration || e.expiration > day),
    );
    if (!endpoint)
      return {
        ...base,
        smp,
        signature: verdict,
        answer: 'not-supported',
        reason: `${participant.value}'s SMP lists ${document}s, but no active AS4 endpoint for the Peppol billing process`,
      };
    return {
      ...base,
      smp,
      signature: verdict,
      endpoint,
      answer: 'yes',
      reason: `${participant.value} receives Peppol BIS Billing 3 ${document}s at ${endpoint.address}`,
    };
  }

  /**
   * One SMP request, over https or plain http (both are in use on the network: the signature is what
   * is trusted), with a deadline for the whole answer and a cap on its size.
   */
  private get(url: string): Promise<{ status: number; body: string }> {
    const host = new URL(url).host;
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(deadline);
        req.destroy();
        reject(new EnvironmentError(`the SMP at ${host} ${why}; it is tried again`));
      };
      const send = url.startsWith('http:') ? httpRequest : request;
      const req = send(url, { ...(url.startsWith('https:') ? { ca: this.tlsCa } : {}), timeout: this.settings.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_SMP_ANSWER_BYTES) fail(`sent more than ${MAX_SMP_ANSWER_BYTES / 1024 / 1024} MB of metadata (service metadata is a few kB)`);
          else chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(deadline);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf-8') });
        });
        res.on('error', (err) => fail(`broke off its answer: ${err.message}`));
      });
      // the socket timeout only notices silence: a server that sends one byte a second needs a deadline for the whole answer
      const deadline = setTimeout(() => fail(`did not answer in full within ${this.settings.timeoutMs / 1000} s`), this.settings.timeoutMs);
      req.on('timeout', () => fail(`did not answer within ${this.settings.timeoutMs / 1000} s`));
      req.on('error', (err) => fail(`cannot be reached: ${err.message}`));
      req.end();
    });
  }
}
