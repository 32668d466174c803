/** The part of @20minutes/s3rver (a fork of s3rver, no types of its own) that test/receivers/s3.ts uses. */
declare module '@20minutes/s3rver' {
  import type { EventEmitter } from 'node:events';

  interface S3rverOptions {
    address?: string;
    port?: number;
    directory?: string;
    silent?: boolean;
    /** Accept requests whose SigV4 signature does not verify (the access key id is still checked). */
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
    resetOnClose?: boolean;
  }

  class S3rver extends EventEmitter {
    constructor(options?: S3rverOptions);
    run(): Promise<{ address: string; family: string; port: number }>;
    close(): Promise<void>;
  }

  export = S3rver;
}
