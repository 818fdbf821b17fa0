import { createHash } from 'node:crypto';
import { base32 } from 'rfc4648';

/** The identifier scheme of every Peppol participant (ISO 6523 ICD, or an EAS code, then ":" and the id). */
export const PARTICIPANT_SCHEME = 'iso6523-actorid-upis';
export const DOCUMENT_SCHEME = 'busdox-docid-qns';
export const PROCESS_SCHEME = 'cenbii-procid-ubl';
/** Peppol BIS Billing 3.0: the one process both document types belong to. */
export const BILLING_PROCESS = 'urn:fdc:peppol.eu:2017:poacc:billing:01:1.0';
export const AS4_PROFILE = 'peppol-transport-as4-v2_0';

/** The document types the gateway sends over Peppol. */
export const DOCUMENT_TYPES = {
  invoice: 'urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1',
  'credit-note':
    'urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2::CreditNote##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1',
} as const;
export type PeppolDocumentKind = keyof typeof DOCUMENT_TYPES;

/** The SML zones of the Peppol network. */
export const SML_ZONES = { production: 'edelivery.tech.ec.europa.eu', test: 'acc.edelivery.tech.ec.europa.eu' } as const;

/** A participant: "0106:12345678" (scheme code and id), as written on the invoice's endpoint (BT-49). */
export interface ParticipantId {
  /** "0106:12345678" */
  value: string;
}

/** Reads "0106:12345678" or "iso6523-actorid-upis::0106:12345678"; undefined when it is not a participant id. */
export function parseParticipant(text: string): ParticipantId | undefined {
  const value = text.trim().replace(new RegExp(`^${PARTICIPANT_SCHEME}::`, 'i'), '');
  return /^\d{4}:[^\s:][^\s]*$/.test(value) ? { value } : undefined;
}

/**
 * The DNS name the network publishes a participant's SMP under (Peppol SML/BDXL): the SHA-256 of
 * the lower-cased identifier, Base32 without padding, then the scheme and the SML zone.
 */
export function smlHostname(participant: ParticipantId, zone: string): string {
  const hash = createHash('sha256').update(participant.value.toLowerCase(), 'utf-8').digest();
  return `${base32.stringify(hash, { pad: false }).toLowerCase()}.${PARTICIPANT_SCHEME}.${zone}`;
}

/** The SMP address of a participant's metadata for one document type. */
export function serviceMetadataUrl(smpBase: string, participant: ParticipantId, documentType: string): string {
  const base = smpBase.replace(/\/+$/, '');
  return `${base}/${encodeURIComponent(`${PARTICIPANT_SCHEME}::${participant.value}`)}/services/${encodeURIComponent(`${DOCUMENT_SCHEME}::${documentType}`)}`;
}
