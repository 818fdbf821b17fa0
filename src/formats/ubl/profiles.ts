/** UBL customisations the gateway writes: the CustomizationID (BT-24) and ProfileID (BT-23) of each. */
export const UBL_PROFILES = {
  peppol: {
    customizationId: 'urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0',
    profileId: 'urn:fdc:peppol.eu:2017:poacc:billing:01:1.0',
  },
  nlcius: {
    customizationId: 'urn:cen.eu:en16931:2017#compliant#urn:fdc:nen.nl:nlcius:v1.0',
    profileId: 'urn:fdc:peppol.eu:2017:poacc:billing:01:1.0',
  },
  en16931: {
    customizationId: 'urn:cen.eu:en16931:2017',
    profileId: undefined,
  },
  // the German CIUS; the Peppol process id, as XRechnung over Peppol and most German receivers expect
  xrechnung: {
    customizationId: 'urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0',
    profileId: 'urn:fdc:peppol.eu:2017:poacc:billing:01:1.0',
  },
} as const;

export type UblProfile = keyof typeof UBL_PROFILES;
