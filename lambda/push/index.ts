/**
 * Mimecast Event Push into the collector's pipeline (docs/PUSH.md): body parsing, classification,
 * envelopes and ids, forwarding. Pure: no AWS SDK, no HTTP client, no environment; the receiver and
 * the S3 drain are adapters around it.
 */
export { type PushBodyLimits, type PushedItem, parsePushBody } from './body';
export {
  CG_EVENT_TYPES,
  CI_EVENT_TYPES,
  classifyPushEvent,
  PUSH_UNCLASSIFIED,
  type PushClass,
} from './classify';
export { type PushEnvelopeOptions, pushEnvelopes, pushMatchKey, TRANSPORT_FIELDS } from './envelopes';
export { forwardPush, type PushBatchLimits, type PushForwarded } from './forward';
export {
  PUSH_LIMITS,
  type PushAnswer,
  type PushOutcome,
  type PushReceiverDeps,
  type PushReceiverLimits,
  type PushRefusal,
  type PushRequest,
  receivePush,
  type StreamCounts,
} from './receiver';
export { recordPushed } from './record';
