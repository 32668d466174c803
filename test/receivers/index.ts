/** Loopback receivers that behave like the real ingestion endpoints (see README.md). */
import { elasticBulkProduct } from './elastic-bulk';
import { ndjsonProduct } from './ndjson';
import { serve } from './server';
import { splunkHecProduct } from './splunk-hec';
import type { Product, Receiver, ReceiverOptions } from './types';

export type { StoredDocument } from './elastic-bulk';
export type { AcceptedItem, Fault, Receiver, ReceiverKind, ReceiverOptions, RecordedRequest } from './types';

/** Starts a receiver on 127.0.0.1 (a free port unless `port` is given). Call `stop()` when done. */
export function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  return serve(options, productFor(options));
}

function productFor(options: ReceiverOptions): Product {
  switch (options.kind) {
    case 'ndjson':
      return ndjsonProduct(options.token);
    case 'splunk-hec':
      return splunkHecProduct(options.token);
    case 'elastic-bulk':
      return elasticBulkProduct(options.token, options.index ?? 'mimecast');
    default:
      throw new Error(`unknown receiver kind ${String((options as { kind: unknown }).kind)}`);
  }
}
