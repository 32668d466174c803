import type { CallBudget, StreamSource } from '../core/ports';

export interface MimecastStreamSource extends StreamSource {
  /** One cheap call proving the credentials can read this stream; throws the typed error otherwise. Used by the `verify` command. */
  probe(budget: CallBudget): Promise<void>;
}
