/** The generic format: the envelope itself, one JSON object per line. Any 2xx acknowledges the batch. */
import { authorization, envelopeJson, type HttpFormat, statusVerdict } from './format';
import { passed, unexpectedAnswer } from './probe';

export function ndjsonFormat(url: URL): HttpFormat {
  return {
    format: 'ndjson',
    url,
    contentType: 'application/x-ndjson',
    credentials: authorization('Bearer'),
    serialize: (envelope) => `${envelopeJson(envelope)}\n`,
    interpret: (answer) => statusVerdict(answer),
    // An empty POST with the token (HEAD is not answered by most ingest endpoints): 2xx passes, and so do
    // 400/422, the usual answer to "no events" once the token was accepted.
    probe: async ({ token, request }) => {
      const answer = await request('POST', url, {
        'content-type': 'application/x-ndjson',
        ...(token === undefined ? {} : authorization('Bearer')(token)),
      });
      if (answer.status >= 200 && answer.status < 300) return passed('OK (accepted an empty body)');
      if (answer.status === 400 || answer.status === 422) {
        return passed(`OK (answered ${answer.status} to an empty body, as expected)`);
      }
      return unexpectedAnswer('POST', url, answer, token !== undefined);
    },
  };
}
