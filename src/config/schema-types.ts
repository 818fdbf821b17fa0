// Generated from schemas/*.schema.json by `npm run config-types`; do not edit by hand.
/* eslint-disable */

export namespace CustomersFileSchema {
  /**
   * the output format (the list is the gateway's own: src/kinds/formats.ts)
   */
  export type Format = 'pdf' | 'ubl' | 'cii' | 'xrechnung-ubl' | 'xrechnung-cii' | 'factur-x' | 'exact-online' | 'exact-globe' | 'accountview' | 'json';
  /**
   * how the document travels (src/kinds/transports.ts)
   */
  export type Transport = 'email' | 'sftp' | 'folder' | 'peppol';
  /**
   * for format ubl: the customisation written and checked
   */
  export type UblProfile = 'peppol' | 'nlcius' | 'en16931' | 'xrechnung';

  export interface CustomersFile {
    defaults?: {
      language?: 'nl' | 'en';
      paymentTermsDays?: number;
      quoteValidDays?: number;
      /**
       * @minItems 1
       */
      routes?: Route[];
    };
    /**
     * what to do with an invoice whose customer key is not listed: take the default routes, or reject it
     */
    unknownCustomers?: 'default' | 'reject';
    customers?: {
      [k: string]: {
        party: {
          name: string;
          tradingName?: string;
          vatId?: string;
          taxRegistrationId?: string;
          legalInfo?: string;
          legalId?: Identifier;
          endpoint?: Identifier;
          identifiers?: Identifier[];
          address?: Address;
          contact?: Contact;
        };
        email?: string;
        cc?: string;
        language?: 'nl' | 'en';
        paymentTermsDays?: number;
        quoteValidDays?: number;
        buyerReference?: string;
        debtorCode?: string;
        /**
         * @minItems 1
         */
        routes?: Route[];
      };
    };
  }
  export interface Route {
    format: Format;
    transport: Transport;
    /**
     * named target in gateway.yaml (sftp, folder, smtp, peppol access point) or, for email, an address overriding the customer's
     */
    target?: string;
    profile?: UblProfile;
    template?: string;
    language?: 'nl' | 'en';
    attachUbl?: boolean;
    embedPdf?: boolean;
    hybrid?: boolean;
    administration?: string;
    send?: {
      /**
       * hold the invoice this long after the order arrived, e.g. 14d
       */
      after?: string;
      /**
       * issue in a daily batch at this local time, e.g. 06:00
       */
      at?: string;
      when?: {
        /**
         * issue once a later drop for the same order carries this status, e.g. shipped
         */
        status: string;
        maxWait?: string;
      };
    };
    /**
     * for transport: peppol, the buyer's Peppol id (scheme:id, e.g. 0106:12345678); default: the invoice's buyer endpoint (BT-49)
     */
    participant?: string;
    fallback?: FallbackRoute;
  }
  /**
   * the route taken instead when the Peppol lookup says the buyer cannot receive this document type over Peppol (typically format: pdf, transport: email)
   */
  export interface FallbackRoute {
    format: Format;
    transport: Transport;
    /**
     * named target in gateway.yaml (sftp, folder, smtp, peppol access point) or, for email, an address overriding the customer's
     */
    target?: string;
    profile?: UblProfile;
    template?: string;
    language?: 'nl' | 'en';
    attachUbl?: boolean;
    embedPdf?: boolean;
    hybrid?: boolean;
    administration?: string;
  }
  export interface Identifier {
    id: string | number;
    scheme?: string;
  }
  export interface Address {
    line1?: string;
    line2?: string;
    line3?: string;
    city?: string;
    postalCode?: string;
    countrySubdivision?: string;
    country?: string;
  }
  export interface Contact {
    name?: string;
    phone?: string;
    email?: string;
  }
}

export namespace GatewayFileSchema {
  export interface GatewayFile {
    /**
     * ledger, archive, error and duplicates folders, logs; relative to this file's folder's parent
     */
    dataDir?: string;
    /**
     * root of the inbox; each mapping's match.folder is a subfolder
     */
    inbox?: string;
    /**
     * where the ledger lives: sqlite (default, one node, in dataDir) or postgres (several nodes on one database)
     */
    ledger?: {
      kind?: 'sqlite' | 'postgres';
      /**
       * postgres://user@host:port/database; give the password in PGPASSWORD, not here
       */
      url?: string;
      poolSize?: number;
      /**
       * how long a node's claim lasts unless renewed (default 60s); a dead node's work is taken over after it
       */
      leaseFor?: string;
      /**
       * this node's id (IGW_NODE_ID overrides; default the host name)
       */
      nodeId?: string;
    };
    /**
     * the node's web console and HTTP endpoint: the console pages, /api/, /healthz, /readyz, /metrics; off unless set
     */
    console?: {
      /**
       * address to listen on; default 127.0.0.1 (this machine only)
       */
      host?: string;
      /**
       * default 8477
       */
      port?: number;
      /**
       * the console's users file (names, roles, password hashes), relative to config/; default console-users.yaml. Manage it with `invoice-gateway console-user`
       */
      users?: string;
      /**
       * serve HTTPS with this certificate and key (PEM files, relative to config/)
       */
      tls?: {
        cert: string;
        key: string;
      };
      /**
       * behind a reverse proxy: true, or the proxy's address(es); the client address and https come from X-Forwarded-* headers
       */
      trustProxy?: boolean | string;
      /**
       * a session ends after this long without a request; default 8h
       */
      sessionIdle?: string;
      /**
       * the lowest role that may download original files, PDFs, UBL and accounting files; default operator
       */
      downloads?: 'viewer' | 'operator' | 'admin';
    };
    watch?: {
      /**
       * events (default): file-system events plus a periodic rescan; scan: periodic directory scans only, for SMB/NFS shares where events are missed or late
       */
      mode?: 'events' | 'scan';
      /**
       * poll instead of file-system events (SMB/NFS shares)
       */
      polling?: boolean;
      pollInterval?: string;
      stableFor?: string;
      rescanEvery?: string;
      emptyFileTimeout?: string;
      /**
       * sources (mapping names) that write <name>.done or <name>.ok when a file is complete
       */
      doneMarkers?: string[];
      /**
       * files processed at the same time (default 16; 32 on a PostgreSQL ledger, whose round trips want more files in flight)
       */
      concurrency?: number;
    };
    /**
     * continue: issue the good invoices of a file; hold-file: issue none while one is rejected
     */
    onRejectedInvoice?: 'continue' | 'hold-file';
    /**
     * skip: a file whose content was processed before goes to duplicates/
     */
    onDuplicateFile?: 'skip' | 'process';
    numbering?: {
      default?: {
        invoice?: string;
        creditNote?: string;
        quote?: string;
      };
      sellers?: {
        [k: string]: {
          invoice?: string;
          creditNote?: string;
          quote?: string;
        };
      };
    };
    outbox?: {
      maxAttempts?: number;
      firstRetryAfter?: string;
      maxRetryAfter?: string;
      concurrency?: number;
      pollInterval?: string;
      /**
       * worker threads that render PDFs (0: on the main thread); default one per core, at most 4
       */
      renderThreads?: number;
      /**
       * slots one target may take (default: half of concurrency), so one dead target cannot starve the rest
       */
      perTargetConcurrency?: number;
      /**
       * a send that has not finished by then is abandoned and retried (default 120s)
       */
      sendTimeout?: string;
    };
    scheduler?: {
      checkEvery?: string;
    };
    email?: {
      /**
       * name of the smtp, graph or pickup target used for e-mail routes
       */
      server?: string;
    };
    accounting?: {
      [k: string]: unknown;
    };
    targets?: {
      [k: string]: FolderTarget | SftpTarget | SmtpTarget | GraphTarget | PickupTarget | PeppolTarget;
    };
    logging?: {
      level?: 'error' | 'warn' | 'info' | 'debug';
      file?: string;
      maxSizeMb?: number;
      maxFiles?: number;
    };
    /**
     * plausibility limits checked before an invoice takes a number
     */
    limits?: {
      /**
       * longest text value (names, ids, descriptions) in characters; default 1000
       */
      maxTextLength?: number;
      /**
       * longest note or payment terms text; default 10000
       */
      maxNoteLength?: number;
      /**
       * an issue date further back is refused; default 731
       */
      maxDaysInPast?: number;
      /**
       * an issue date further ahead is refused; default 366
       */
      maxDaysInFuture?: number;
    };
    /**
     * how long a stop may finish the work under way (default 30s, well under systemd's 90 s); what is left then is resumed by the next start
     */
    stopWithin?: string;
    /**
     * mapping runs in worker threads: a file whose expressions hand over no invoice for 'stalled', or are not done after 'file', is stopped and refused
     */
    mappingDeadlines?: {
      /**
       * default 30s
       */
      stalled?: string;
      /**
       * default 15m
       */
      file?: string;
    };
    validation?: {
      /**
       * how long a validation helper may keep requests waiting without answering (default 3m); then it is replaced and its requests are sent once more
       */
      requestTimeout?: string;
    };
    /**
     * permission bits taken from files and folders the gateway creates; default 027 (files 0640, folders 0750)
     */
    umask?: string;
    /**
     * how receivers are found on the Peppol network (for routes with transport: peppol)
     */
    peppol?: {
      /**
       * the SML: production (edelivery.tech.ec.europa.eu), test (acc.edelivery.tech.ec.europa.eu) or a DNS zone of its own; default production
       */
      sml?: string;
      /**
       * DNS servers to ask ("192.0.2.53" or "127.0.0.1:5353"); default: the system's
       */
      dns?: string[];
      /**
       * PEM file(s), relative to config/, of the CA that issues SMP certificates (OpenPeppol's SMP CA for the chosen network); an SMP answer whose signature does not lead to it is not used
       */
      smpTrust?: string | string[];
      /**
       * extra CA certificates (PEM files, relative to config/) for HTTPS to SMPs; the system's are always trusted
       */
      smpTlsCa?: string | string[];
      /**
       * how long a lookup's answer is kept in the ledger; default 1h
       */
      cacheTtl?: string;
      /**
       * how long one DNS or SMP request may take; default 10s
       */
      timeout?: string;
      /**
       * how often an access point that accepted a message is asked whether it was delivered (Storecove's sending evidence); default 5m
       */
      followUpEvery?: string;
    };
  }
  export interface FolderTarget {
    kind: 'folder';
    path: string;
    fileName?: string;
  }
  export interface SftpTarget {
    kind: 'sftp';
    host: string;
    port?: number;
    user: string;
    privateKeyFile?: string;
    password?: string;
    folder: string;
    fileName?: string;
    hostKeySha256: string;
    maxConnections?: number;
    localFolder?: string;
    /**
     * how long a connection attempt, one file operation or a wait for a free connection may take (default 30000)
     */
    timeoutMs?: number;
  }
  export interface SmtpTarget {
    kind: 'smtp';
    host: string;
    port?: number;
    secure?: boolean;
    requireTLS?: boolean;
    user?: string;
    password?: string;
    from?: string;
    replyTo?: string;
    bcc?: string;
    messagesPerMinute?: number;
    maxConnections?: number;
    dkim?: {
      domainName: string;
      keySelector: string;
      privateKeyFile: string;
    };
    tlsRejectUnauthorized?: boolean;
    /**
     * PEM file with the CA (or self-signed certificate) the mail server's certificate must chain to
     */
    caFile?: string;
    /**
     * sign in with OAuth 2.0 (XOAUTH2) instead of a password: Microsoft 365 (smtp.office365.com) with an app registration; user is the mailbox
     */
    oauth2?: {
      /**
       * the Microsoft Entra directory (tenant) id or domain, e.g. ${M365_TENANT_ID}
       */
      tenant: string;
      /**
       * the app registration's application (client) id, e.g. ${M365_CLIENT_ID}
       */
      clientId: string;
      /**
       * the app's client secret, as ${ENVIRONMENT_VARIABLE} (or use certificate)
       */
      clientSecret?: string;
      /**
       * sign in with a certificate uploaded to the app registration (better than a secret)
       */
      certificate?: {
        /**
         * PEM certificate
         */
        certificateFile: string;
        /**
         * PEM private key (not encrypted)
         */
        privateKeyFile: string;
      };
      /**
       * where the app signs in; https://login.microsoftonline.com unless a national cloud
       */
      authorityHost?: string;
      /**
       * PEM file with extra CAs to trust (a proxy that inspects TLS)
       */
      caFile?: string;
      /**
       * the token's scope; https://outlook.office365.com/.default for Microsoft 365
       */
      scope?: string;
    };
    /**
     * Google Workspace: sign in with XOAUTH2 as a service account with domain-wide delegation for https://mail.google.com/ (smtp.gmail.com); user is the mailbox it sends as
     */
    googleServiceAccount?: {
      /**
       * the service account's JSON key file, as the Google Cloud console downloads it (keep it readable by the gateway only)
       */
      keyFile: string;
      /**
       * PEM file with extra CAs to trust for the token request (a proxy that inspects TLS)
       */
      caFile?: string;
    };
    /**
     * the account's mailbox over IMAP: a copy of each mail the gateway sent goes to its Sent folder (and a retry finds it there), drafts (mode: draft) to its Drafts
     */
    imap?: {
      host: string;
      port?: number;
      /**
       * TLS from the start (993); otherwise STARTTLS
       */
      secure?: boolean;
      user: string;
      /**
       * as ${ENVIRONMENT_VARIABLE}
       */
      password?: string;
      /**
       * default: the folder the server marks \Sent
       */
      sentFolder?: string;
      /**
       * default: the folder the server marks \Drafts
       */
      draftsFolder?: string;
      caFile?: string;
      /**
       * how often the inbox is read for bounces (default 2m; 0s: never)
       */
      checkBouncesEvery?: string;
    };
    /**
     * send (default), or draft: the mail goes into the mailbox's Drafts for someone to check and send (needs imap)
     */
    mode?: 'send' | 'draft';
    /**
     * the provider's limit of recipients in any 24 hours (none unless set); mails over it wait, they do not fail
     */
    recipientsPerDay?: number;
  }
  export interface GraphTarget {
    kind: 'graph';
    /**
     * the mailbox that sends (a user's or a shared mailbox such as facturen@...): its Sent Items keep the copy
     */
    mailbox: string;
    /**
     * the Microsoft Entra directory (tenant) id or domain, e.g. ${M365_TENANT_ID}
     */
    tenant: string;
    /**
     * the app registration's application (client) id, e.g. ${M365_CLIENT_ID}
     */
    clientId: string;
    /**
     * the app's client secret, as ${ENVIRONMENT_VARIABLE} (or use certificate)
     */
    clientSecret?: string;
    /**
     * sign in with a certificate uploaded to the app registration (better than a secret)
     */
    certificate?: {
      /**
       * PEM certificate
       */
      certificateFile: string;
      /**
       * PEM private key (not encrypted)
       */
      privateKeyFile: string;
    };
    /**
     * where the app signs in; https://login.microsoftonline.com unless a national cloud
     */
    authorityHost?: string;
    /**
     * PEM file with extra CAs to trust (a proxy that inspects TLS)
     */
    caFile?: string;
    /**
     * https://graph.microsoft.com unless a national cloud
     */
    graphEndpoint?: string;
    /**
     * send (default), or draft: the mail waits in the mailbox's Drafts for someone to check and send it from Outlook
     */
    mode?: 'send' | 'draft';
    /**
     * another address to send as (needs Send As rights on it); the mailbox itself by default
     */
    from?: string;
    replyTo?: string;
    bcc?: string;
    /**
     * pace of this mailbox (Exchange Online allows 30 a minute; default 30)
     */
    messagesPerMinute?: number;
    /**
     * recipients in any 24 hours (Exchange Online allows 10,000, the default); mails over it wait for the next window
     */
    recipientsPerDay?: number;
    /**
     * how often the inbox is read for bounces (Exchange non-delivery reports) over Graph (default 2m; 0s: never); needs Mail.ReadWrite
     */
    checkBouncesEvery?: string;
  }
  export interface PickupTarget {
    kind: 'pickup';
    path: string;
    from?: string;
    replyTo?: string;
    bcc?: string;
  }
  export interface PeppolTarget {
    kind: 'peppol';
    /**
     * the access point's API: phase4 (the open-source phase4 Peppol server's /sendas4 API) or storecove (Storecove's document submissions)
     */
    accessPoint: 'phase4' | 'storecove';
    /**
     * the API's base address (phase4: where /sendas4 lives; storecove: https://api.storecove.com)
     */
    url: string;
    /**
     * the API key or token, as ${ENVIRONMENT_VARIABLE} (phase4: X-Token; storecove: Bearer key)
     */
    token?: string;
    /**
     * phase4: our own Peppol participant id (scheme:id)
     */
    sender?: string;
    /**
     * phase4: the sender's country (C1), default NL
     */
    countryC1?: string;
    /**
     * storecove: the legal entity that sends
     */
    legalEntityId?: number;
    /**
     * how long one API call may take (default 60000)
     */
    timeoutMs?: number;
  }
}

export namespace MappingFileSchema {
  export type NumberFormat = 'nl' | 'en' | 'plain';
  export type Transform =
    | ('trim' | 'upper' | 'lower' | 'digits' | 'strip-leading-zeros' | 'collapse-spaces' | 'negate')
    | (
        | {
            /**
             * replace every [this, by that]
             *
             * @minItems 2
             * @maxItems 2
             */
            replace: string[];
          }
        | {
            /**
             * put this before
             */
            prefix: string;
          }
        | {
            /**
             * put this after
             */
            suffix: string;
          }
        | {
            /**
             * look the text up in a table under lookups:
             */
            lookup: string;
          }
        | {
            number: NumberFormat;
          }
        | {
            /**
             * read as a date in this format
             */
            date: string;
          }
        | {
            /**
             * use this when empty
             */
            default: {
              [k: string]: unknown;
            };
          }
        | {
            /**
             * divide by this number (cents to euros: 100)
             */
            divide: string | number;
          }
        | {
            /**
             * multiply by this number
             */
            multiply: string | number;
          }
        | {
            /**
             * left-pad to a length (default with zeros)
             */
            pad: {
              /**
               * the length
               */
              length: number;
              /**
               * the character (default 0)
               */
              with?: string;
            };
          }
      );

  export interface MappingFile {
    /**
     * name of the source, used in logs and folders
     */
    source: string;
    /**
     * what this source is, for people reading the configuration
     */
    description?: string;
    /**
     * which files this mapping takes: its inbox folder and/or file-name globs
     */
    match: {
      /**
       * inbox subfolder this source writes to
       */
      folder?: string;
      /**
       * globs on the file name, e.g. orders_*.csv
       *
       * @minItems 1
       */
      files?: string[];
    };
    /**
     * how the file is read; the options depend on the format
     */
    reader: CsvReader | XmlReader | JsonReader | FixedWidthReader | EInvoiceReader;
    /**
     * values every invoice of this source gets unless the file says otherwise
     */
    defaults?: {
      numberFormat?: NumberFormat;
      /**
       * how dates are written, e.g. dd-mm-yyyy, yyyymmdd, d/m/yyyy (default yyyy-mm-dd)
       */
      dateFormat?: string;
      /**
       * BT-5 currency when the file names none (default EUR)
       */
      currency?: string;
      /**
       * BT-130 unit when a line names none (default C62, pieces)
       */
      unitCode?: string;
      /**
       * BT-3 document type when the file names none (380 invoice, 381 credit note)
       */
      typeCode?: string;
      /**
       * BT-151 VAT category when a line names none (S standard; Z zero-rated, E exempt, AE reverse charge, ...)
       */
      vatCategory?: string;
      /**
       * the seller (key in sellers.yaml) when the file names none
       */
      seller?: string;
      /**
       * invoice, or quote: quotations get their own number series and go out as PDF only
       */
      kind?: 'invoice' | 'quote';
    };
    /**
     * how invoices of this source are numbered
     */
    numbering?: {
      /**
       * keep the invoice number the file carries instead of numbering from a series
       */
      keepSourceNumber?: boolean;
      /**
       * the number series to number from (a key under the seller's series), e.g. invoice or a series of its own
       */
      series?: string;
    };
    /**
     * how rows or elements make up one invoice
     */
    group?: {
      /**
       * column(s) whose value groups rows into one invoice; rows of one invoice must be consecutive
       */
      by?: string | string[];
      /**
       * nested formats: path of the lines inside a record
       */
      lines?: string;
      /**
       * fixed-width: record type of invoice headers
       */
      headerType?: string;
      /**
       * fixed-width: record type of invoice lines
       */
      lineType?: string;
    };
    /**
     * tables that turn the source's codes into ours (lookup: name on a value); "*" is the fallback
     */
    lookups?: {
      [k: string]: {
        [k: string]: string | number | boolean;
      };
    };
    /**
     * the invoice's fields (EN 16931 terms), each a value spec; required for every format but ubl
     */
    invoice?: {
      kind?: Value;
      number?: Value;
      issueDate?: Value;
      dueDate?: Value;
      typeCode?: Value;
      currency?: Value;
      taxPointDate?: Value;
      buyerReference?: Value;
      orderReference?: Value;
      salesOrderReference?: Value;
      projectReference?: Value;
      contractReference?: Value;
      accountingReference?: Value;
      paymentTerms?: Value;
      note?: Value;
      customer?: Value;
      seller?: Value;
      orderStatus?: Value;
      paymentReference?: Value;
      paymentMeansCode?: Value;
      prepaidAmount?: Value;
      validUntil?: Value;
      language?: Value;
      /**
       * BG-3 the invoice a credit note corrects: number (BT-25) and issue date (BT-26)
       */
      precedingInvoice?: {
        number?: Value;
        issueDate?: Value;
      };
      buyer?: Party;
      /**
       * BG-13 delivery: date (BT-72), party name (BT-70), address (BG-15)
       */
      delivery?: {
        date?: Value;
        partyName?: Value;
        address?: Address;
      };
      /**
       * BG-14 invoicing period: start (BT-73) and end (BT-74)
       */
      period?: {
        start?: Value;
        end?: Value;
      };
      /**
       * totals the source states; checked against the calculation
       */
      totals?: {
        netAmount?: Value;
        vatAmount?: Value;
        payableAmount?: Value;
      };
      /**
       * BG-21 document charges (shipping, handling), each with amount, VAT and reason
       */
      charges?: DocumentAllowanceCharge[];
      /**
       * BG-20 document allowances (an order discount), each with amount, VAT and reason
       */
      allowances?: DocumentAllowanceCharge[];
      /**
       * other values kept with the invoice for the mail templates ({{extra.name}})
       */
      extra?: {
        [k: string]: Value;
      };
    };
    /**
     * the fields of each invoice line (EN 16931 terms), each a value spec
     */
    line?: {
      id?: Value;
      quantity?: Value;
      unitCode?: Value;
      netPrice?: Value;
      grossPrice?: Value;
      baseQuantity?: Value;
      vatCategory?: Value;
      vatRate?: Value;
      itemName?: Value;
      description?: Value;
      sellerItemId?: Value;
      buyerItemId?: Value;
      standardItemId?: Value;
      itemGroup?: Value;
      note?: Value;
      orderLineReference?: Value;
      accountingReference?: Value;
      netAmount?: Value;
      discountAmount?: Value;
      discountPercentage?: Value;
      discountReason?: Value;
      chargeAmount?: Value;
      chargeReason?: Value;
      periodStart?: Value;
      periodEnd?: Value;
      /**
       * JSONata condition; lines for which it is true are left out (e.g. text-only rows)
       */
      skipWhen?: string;
    };
    /**
     * hold invoices from this source back (deferred invoicing)
     */
    send?: {
      /**
       * hold each invoice this long after it came in (e.g. 14d)
       */
      after?: string;
      /**
       * hold until this time of day (HH:MM), e.g. for one run a day
       */
      at?: string;
      /**
       * hold until a later file for the same order has this status
       */
      when?: {
        /**
         * the status (invoice.orderStatus) that releases it, e.g. shipped
         */
        status: string;
        /**
         * issue it anyway after this long (e.g. 14d)
         */
        maxWait?: string;
      };
    };
    /**
     * skip (default): an invoice whose business key (the group key) was issued before for this seller and source is not issued again; issue-again: issue it anyway (a deliberate reissue)
     */
    onIssuedBefore?: 'skip' | 'issue-again';
    /**
     * a sample file of this source, relative to the mappings folder: check-config maps it (every expression evaluated once, time-limited)
     */
    sample?: string;
  }
  export interface CsvReader {
    format: 'csv';
    /**
     * character set of the file, e.g. windows-1252 (default utf-8; a BOM is honoured)
     */
    encoding?: string;
    /**
     * field separator; default ";" (what Dutch Excel and MS Access write)
     */
    delimiter?: string;
    /**
     * quote character; default "
     */
    quote?: string;
    /**
     * true: the first row names the columns; false: columns are numbered 1, 2, 3 ... (default true)
     */
    header?: boolean;
    /**
     * rows to skip before the header (title lines some exports write); default 0
     */
    skipLines?: number;
    /**
     * allow rows with fewer or more fields than the header; default false
     */
    relaxColumnCount?: boolean;
    /**
     * skip blank lines; default true
     */
    skipEmptyLines?: boolean;
  }
  export interface XmlReader {
    format: 'xml';
    /**
     * path of the element that is one record (one invoice), e.g. Facturen/Factuur
     */
    records: string;
    /**
     * element names that always form a list (e.g. Regel), so one line is not mistaken for a value
     */
    arrays?: string[];
    /**
     * drop namespace prefixes (inv:Factuur becomes Factuur); default true
     */
    removeNamespacePrefixes?: boolean;
    /**
     * character set of the file, e.g. windows-1252 (default utf-8; a BOM is honoured)
     */
    encoding?: string;
    /**
     * refuse files larger than this many bytes (default 100 MB)
     */
    maxBytes?: number;
  }
  export interface JsonReader {
    format: 'json';
    /**
     * path of the array of records (e.g. orders); empty or $ for a top-level array or a single object
     */
    records?: string;
    /**
     * character set of the file, e.g. windows-1252 (default utf-8; a BOM is honoured)
     */
    encoding?: string;
    /**
     * refuse files larger than this many bytes (default 100 MB)
     */
    maxBytes?: number;
  }
  export interface FixedWidthReader {
    format: 'fixed-width';
    /**
     * character set of the file, e.g. windows-1252 (default utf-8; a BOM is honoured)
     */
    encoding?: string;
    /**
     * one layout for every line
     */
    columns?: {
      /**
       * the column's name, as fields refer to it
       */
      name: string;
      /**
       * its first position (1-based, as the source's documentation counts)
       */
      start: number;
      /**
       * its width in characters
       */
      length: number;
    }[];
    /**
     * where the record type code stands, for files with several layouts (header H, line R)
     */
    recordType?: {
      /**
       * first position of the record type code
       */
      start: number;
      /**
       * its width
       */
      length: number;
    };
    /**
     * layouts keyed by record type code
     */
    layouts?: {
      [k: string]: {
        /**
         * the column's name
         */
        name: string;
        /**
         * its first position (1-based)
         */
        start: number;
        /**
         * its width
         */
        length: number;
      }[];
    };
    /**
     * record types to skip silently (e.g. a trailer T)
     */
    ignoreTypes?: string[];
  }
  export interface EInvoiceReader {
    format: 'ubl';
    /**
     * refuse files larger than this many bytes (default 100 MB)
     */
    maxBytes?: number;
  }
  /**
   * Where a canonical field gets its value: exactly one of column, path, const, template, expr; then transforms.
   */
  export interface Value {
    /**
     * CSV or fixed-width column name as it appears in the file (or its 1-based number without a header)
     */
    column?: string | number;
    /**
     * path inside the JSON object or XML element of the record, e.g. customer/address/city or @id
     */
    path?: string;
    /**
     * a fixed value
     */
    const?: {
      [k: string]: unknown;
    };
    /**
     * text with {Column} placeholders
     */
    template?: string;
    /**
     * a JSONata expression over the record
     */
    expr?: string;
    /**
     * steps applied in order to the text read: trim, upper, lower, digits, strip-leading-zeros, collapse-spaces, negate, {replace: [a, b]}, {prefix: x}, {suffix: x}, {pad: {length, with}}, {divide: n}, {multiply: n}, {lookup: table}, {number: nl}, {date: format}, {default: x}
     */
    transform?: Transform[];
    number?: NumberFormat;
    /**
     * date format such as dd-mm-yyyy, yyyymmdd, d/m/yyyy
     */
    date?: string;
    /**
     * name of a table under lookups:
     */
    lookup?: string;
    /**
     * used when the value is missing or empty
     */
    default?: {
      [k: string]: unknown;
    };
    /**
     * refuse the invoice when this value is empty
     */
    required?: boolean;
  }
  export interface Party {
    name?: Value;
    tradingName?: Value;
    vatId?: Value;
    legalId?: Value;
    legalIdScheme?: Value;
    endpointId?: Value;
    endpointScheme?: Value;
    email?: Value;
    contactName?: Value;
    phone?: Value;
    identifier?: Value;
    address?: Address;
  }
  export interface Address {
    line1?: Value;
    line2?: Value;
    line3?: Value;
    city?: Value;
    postalCode?: Value;
    countrySubdivision?: Value;
    country?: Value;
  }
  export interface DocumentAllowanceCharge {
    amount: Value;
    vatCategory?: Value;
    vatRate?: Value;
    reason?: Value;
    reasonCode?: Value;
    /**
     * JSONata condition; the charge is added only when true
     */
    when?: string;
  }
}

export namespace SellersFileSchema {
  export interface SellersFile {
    sellers: {
      [k: string]: {
        name: string;
        tradingName?: string;
        vatId?: string;
        taxRegistrationId?: string;
        legalInfo?: string;
        legalId?: Identifier;
        endpoint?: Identifier;
        identifiers?: Identifier[];
        address: Address;
        contact?: Contact;
        payment?: {
          meansCode: string;
          iban?: string;
          bic?: string;
          accountName?: string;
          meansText?: string;
        };
        logo?: string;
        website?: string;
      };
    };
  }
  export interface Identifier {
    id: string | number;
    scheme?: string;
  }
  export interface Address {
    line1?: string;
    line2?: string;
    line3?: string;
    city?: string;
    postalCode?: string;
    countrySubdivision?: string;
    country?: string;
  }
  export interface Contact {
    name?: string;
    phone?: string;
    email?: string;
  }
}

export namespace AccountingFileSchema {
  export interface AccountingFile {
    administrations: {
      [k: string]: {
        pickupFolder: string;
        batch?: 'per-run' | 'hourly' | 'daily';
        at?: string;
        journal: string;
        accountViewJournal?: string;
        periods?: 'calendar' | '13';
        /**
         * @minItems 1
         */
        vatCodes: {
          category: 'S' | 'Z' | 'E' | 'AE' | 'K' | 'G' | 'O' | 'L' | 'M' | 'B';
          rate?: string;
          code: string;
          inclusive?: boolean;
        }[];
        revenueAccounts: {
          [k: string]: string;
        };
        itemGroupAccounts?: {
          [k: string]: string;
        };
        /**
         * write an Exact Accounts file for customers before the entries
         */
        debtorMasterData?: boolean;
        accountView?: {
          encoding?: string;
          separator?: string;
          decimalMark?: '.' | ',';
          dateFormat?: string;
        };
      };
    };
  }
}

export namespace MailTemplatesFileSchema {
  export interface MailTemplatesFile {
    templates: {
      [k: string]: {
        nl?: {
          subject: string;
          text: string;
          html?: string;
        };
        en?: {
          subject: string;
          text: string;
          html?: string;
        };
      };
    };
  }
}
