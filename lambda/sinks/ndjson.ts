/** The generic format: the envelope itself, one JSON object per line. Any 2xx acknowledges the batch. */
import { envelopeFields, statusVerdict, type WireFormat } from './format';

export function ndjsonFormat(url: URL): WireFormat {
  return {
    format: 'ndjson',
    url,
    contentType: 'application/x-ndjson',
    authScheme: 'Bearer',
    serialize: (envelope) => `${JSON.stringify(envelopeFields(envelope))}\n`,
    interpret: (answer) => statusVerdict(answer),
  };
}
