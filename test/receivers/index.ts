/** Loopback receivers that behave like the real ingestion endpoints (see README.md). */
import { datadogProduct } from './datadog';
import { elasticBulkProduct } from './elastic-bulk';
import { ndjsonProduct } from './ndjson';
import { dcrImmutableId, sentinelProduct } from './sentinel';
import { serve } from './server';
import { splunkHecProduct } from './splunk-hec';
import { sumoProduct, sumoToken } from './sumo';
import type { Product, Receiver, ReceiverOptions } from './types';

export type { StoredDocument } from './elastic-bulk';
export type { EntraOptions, EntraTokenEndpoint, IssuedToken } from './entra';
export { MONITOR_SCOPE, startEntraTokenEndpoint } from './entra';
export type { S3Fault, S3Operation, S3Server, S3ServerOptions, StoredObject } from './s3';
export { startS3Server } from './s3';
export type { SumoMessage } from './sumo';
export type {
  SyslogFault,
  SyslogMessage,
  SyslogReceiver,
  SyslogReceiverOptions,
} from './syslog';
export { startSyslogReceiver } from './syslog';
export type {
  AcceptedItem,
  DestinationKind,
  Fault,
  HecAckControls,
  HecAckOptions,
  Receiver,
  ReceiverKind,
  ReceiverOptions,
  RecordedRequest,
  SentinelOptions,
} from './types';

/** Starts a receiver on 127.0.0.1 (a free port unless `port` is given). Call `stop()` when done. */
export function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  return serve(options, productFor(options));
}

function productFor(options: ReceiverOptions): Product {
  switch (options.kind) {
    case 'ndjson':
      return ndjsonProduct(options.token);
    case 'splunk-hec':
      return splunkHecProduct(options.token, options.ack);
    case 'elastic-bulk':
      return elasticBulkProduct(options.token, options.index ?? 'mimecast');
    case 'sumo':
      return sumoProduct(options.token ?? sumoToken());
    case 'datadog':
      return datadogProduct(options.token);
    case 'sentinel':
      return sentinelProduct(options.token, {
        ...options.sentinel,
        dcrImmutableId: options.sentinel?.dcrImmutableId ?? dcrImmutableId(),
        stream: options.sentinel?.stream ?? 'Custom-MimecastEvents_CL',
      });
    default:
      throw new Error(`unknown receiver kind ${String((options as { kind: unknown }).kind)}`);
  }
}
