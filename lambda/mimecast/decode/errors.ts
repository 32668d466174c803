/** Raised by the decoders; the stream modules turn it into a ProtocolError naming stream and endpoint. */
export class DecodeError extends Error {
  constructor(
    message: string,
    /** Printable start of the offending piece (line, record, element), when there is one. */
    readonly excerpt?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DecodeError';
  }
}
