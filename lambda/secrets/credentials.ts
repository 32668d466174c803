/** Credentials as the collector uses them, after the secret was read, unwrapped and validated. */

export interface MimecastV1Credentials {
  apiVersion: 1;
  appId: string;
  appKey: string;
  accessKey: string;
  /** Base64, as Mimecast issues it. */
  secretKey: string;
}

export interface MimecastV2Credentials {
  apiVersion: 2;
  clientId: string;
  clientSecret: string;
}

export type MimecastCredentials = MimecastV1Credentials | MimecastV2Credentials;

/** The Entra app the sentinel destination signs in as (client credentials). */
export interface AzureAppCredentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

export interface CollectorCredentials {
  mimecast: MimecastCredentials;
  /** Value for the sink's auth header (e.g. the Splunk HEC token), when the receiver needs one. */
  sinkToken?: string;
  /** sentinel: the Entra app whose tokens the Logs Ingestion API takes. */
  azure?: AzureAppCredentials;
}
