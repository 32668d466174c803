/**
 * A loopback server speaking the AWS JSON 1.1 protocol of Secrets Manager and KMS, so the real
 * SDK clients (endpoint override) can be tested without an AWS account. See README.md.
 *
 * Not an emulator of everything: only GetSecretValue, PutSecretValue, DescribeSecret, Encrypt and
 * Decrypt, with the validation and error shapes the collector meets. Ciphertexts are real
 * (AES-256-GCM, key id and encryption context bound as additional authenticated data), so a wrong
 * context, a foreign key or one flipped bit fails exactly like KMS: InvalidCiphertextException.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StubService = 'secretsmanager' | 'kms';
export type StubOperation = 'GetSecretValue' | 'PutSecretValue' | 'DescribeSecret' | 'Encrypt' | 'Decrypt';

const TARGETS: Record<string, { service: StubService; operation: StubOperation }> = {
  'secretsmanager.GetSecretValue': { service: 'secretsmanager', operation: 'GetSecretValue' },
  'secretsmanager.PutSecretValue': { service: 'secretsmanager', operation: 'PutSecretValue' },
  'secretsmanager.DescribeSecret': { service: 'secretsmanager', operation: 'DescribeSecret' },
  'TrentService.Encrypt': { service: 'kms', operation: 'Encrypt' },
  'TrentService.Decrypt': { service: 'kms', operation: 'Decrypt' },
};

/** Named faults; each maps to the status and `__type` the real service answers with. */
export type FaultKind =
  | 'access-denied'
  | 'not-found'
  | 'throttling'
  | 'internal-error'
  | 'decryption-failure'
  | 'kms-disabled';

export interface CustomFault {
  status: number;
  type: string;
  message?: string;
}

export interface FaultSpec {
  /** Which operation fails. */
  operation: StubOperation;
  fault: FaultKind | CustomFault;
  /** How many calls fail before the operation works again. Default: every call until `clearFaults()`. */
  times?: number;
}

/** One request as the stub saw it. Plaintexts (`Plaintext`, `SecretString`, `SecretBinary`) are removed. */
export interface StubCall {
  target: string;
  service: StubService;
  operation: StubOperation;
  params: Record<string, unknown>;
  /** The access key id from the SigV4 Authorization header. */
  accessKeyId: string;
  status: number;
  /** The `__type` of the error answered, if any. */
  errorType?: string;
}

export interface AwsStubOptions {
  /** Secrets to create at start, by name. */
  secrets?: Record<string, string>;
  region?: string;
  accountId?: string;
  /**
   * The one key pair requests must be signed with (default AKIDSTUBEXAMPLE): a test that also talks to
   * another loopback AWS part with fixed keys (the S3 server's) gives its pair, as one role signs all calls.
   */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export interface StubKey {
  keyId: string;
  keyArn: string;
}

export interface StubClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  maxAttempts: number;
}

export interface AwsStub {
  /** `http://127.0.0.1:<port>`: pass as `endpoint` to SecretsManagerClient and KMSClient. */
  endpoint: string;
  region: string;
  accountId: string;
  /** Dummy credentials; requests signed with another access key id are refused like AWS does. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The default KMS key, also reachable as `keyAlias`. */
  keyId: string;
  keyArn: string;
  keyAlias: string;
  /** Client options for the SDK; `maxAttempts` defaults to 1 so injected faults surface at once. */
  clientConfig(overrides?: Partial<StubClientConfig>): StubClientConfig;
  /** Another KMS key (ciphertexts of one key never decrypt under another). */
  addKey(): StubKey;
  /** Creates the secret or adds a new AWSCURRENT version, without a recorded call. */
  putSecret(name: string, secretString: string): { arn: string; versionId: string };
  /** The AWSCURRENT value of a secret (by name or ARN), without a recorded call. */
  secretValue(secretId: string): string | undefined;
  /** The full ARN of a secret created in this stub. */
  secretArn(name: string): string;
  /** KMS-encrypts directly (no recorded call): a base64 CiphertextBlob as Encrypt would return. */
  encrypt(plaintext: string | Uint8Array, context?: Record<string, string>, keyId?: string): string;
  inject(fault: FaultSpec): void;
  /** Holds the answers of the next `times` (default 1) calls of `operation` for `ms` (the state is read on arrival). */
  delay(spec: { operation: StubOperation; ms: number; times?: number }): void;
  /** Ends every injected fault and delay. */
  clearFaults(): void;
  calls(): StubCall[];
  resetCalls(): void;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const KMS_MAX_PLAINTEXT_BYTES = 4096;
const BLOB_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_BYTES = 36; // a UUID

class AwsFault extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

interface SecretVersion {
  versionId: string;
  secretString: string;
  createdDate: number;
  stages: Set<string>;
}

interface SecretRecord {
  name: string;
  arn: string;
  createdDate: number;
  lastChangedDate: number;
  versions: Map<string, SecretVersion>;
}

interface KeyRecord {
  keyId: string;
  keyArn: string;
  material: Buffer;
}

export async function startAwsStub(options: AwsStubOptions = {}): Promise<AwsStub> {
  const region = options.region ?? 'eu-west-1';
  const accountId = options.accountId ?? '123456789012';
  const credentials = options.credentials ?? {
    accessKeyId: 'AKIDSTUBEXAMPLE',
    secretAccessKey: 'stub-secret-access-key',
  };
  const secrets = new Map<string, SecretRecord>();
  const keys = new Map<string, KeyRecord>();
  const aliases = new Map<string, string>();
  const faults: { spec: FaultSpec; remaining: number }[] = [];
  const delays: { operation: StubOperation; ms: number; remaining: number }[] = [];
  // Pending delays, cleared by stop() so a stopped stub holds no timer.
  const timers = new Set<NodeJS.Timeout>();
  let recorded: StubCall[] = [];

  const addKey = (): StubKey => {
    const keyId = randomUUID();
    const keyArn = `arn:aws:kms:${region}:${accountId}:key/${keyId}`;
    keys.set(keyId, { keyId, keyArn, material: randomBytes(32) });
    return { keyId, keyArn };
  };
  const defaultKey = addKey();
  const keyAlias = 'alias/mimecast-collector';
  aliases.set(keyAlias, defaultKey.keyId);

  /** Key id, key ARN, alias name or alias ARN, as KMS accepts them. */
  const resolveKey = (keyRef: string): KeyRecord | undefined => {
    const aliasPrefix = `arn:aws:kms:${region}:${accountId}:`;
    const ref = keyRef.startsWith(`${aliasPrefix}alias/`) ? keyRef.slice(aliasPrefix.length) : keyRef;
    if (ref.startsWith('alias/')) {
      const id = aliases.get(ref);
      return id === undefined ? undefined : keys.get(id);
    }
    const id = ref.startsWith(`${aliasPrefix}key/`) ? ref.slice(`${aliasPrefix}key/`.length) : ref;
    return keys.get(id);
  };

  const findSecret = (secretId: string): SecretRecord | undefined => {
    if (!secretId.startsWith('arn:')) return secrets.get(secretId);
    for (const record of secrets.values()) {
      // A partial ARN (without the random six-character suffix) is accepted too, as in AWS.
      if (record.arn === secretId || record.arn.slice(0, -7) === secretId) return record;
    }
    return undefined;
  };

  const putSecretVersion = (name: string, secretString: string, versionId: string = randomUUID()) => {
    const now = Date.now() / 1000;
    let record = secrets.get(name);
    if (record === undefined) {
      const suffix = randomBytes(6)
        .toString('base64')
        .replace(/[^A-Za-z0-9]/g, 'x')
        .slice(0, 6);
      record = {
        name,
        arn: `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`,
        createdDate: now,
        lastChangedDate: now,
        versions: new Map(),
      };
      secrets.set(name, record);
    }
    for (const version of record.versions.values()) {
      version.stages.delete('AWSPREVIOUS');
      if (version.stages.delete('AWSCURRENT')) version.stages.add('AWSPREVIOUS');
      // Versions with no stage are deprecated; AWS keeps a bounded number, so do we.
      if (version.stages.size === 0) record.versions.delete(version.versionId);
    }
    record.versions.set(versionId, {
      versionId,
      secretString,
      createdDate: now,
      stages: new Set(['AWSCURRENT']),
    });
    record.lastChangedDate = now;
    return { record, versionId };
  };

  const currentVersion = (record: SecretRecord): SecretVersion => {
    for (const version of record.versions.values()) {
      if (version.stages.has('AWSCURRENT')) return version;
    }
    throw new Error(`stub invariant broken: secret ${record.name} has no AWSCURRENT version`);
  };

  for (const [name, value] of Object.entries(options.secrets ?? {})) putSecretVersion(name, value);

  const encryptWith = (key: KeyRecord, plaintext: Buffer, context: Record<string, string>): Buffer => {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.material, iv);
    cipher.setAAD(additionalData(key.keyArn, context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([
      Buffer.from([BLOB_VERSION]),
      Buffer.from(key.keyId, 'ascii'),
      iv,
      cipher.getAuthTag(),
      body,
    ]);
  };

  const decryptBlob = (
    blob: Buffer,
    context: Record<string, string>,
  ): { key: KeyRecord; plaintext: Buffer } => {
    const invalid = new AwsFault(400, 'InvalidCiphertextException', '');
    const headerBytes = 1 + KEY_ID_BYTES + IV_BYTES + TAG_BYTES;
    if (blob.length < headerBytes || blob[0] !== BLOB_VERSION) throw invalid;
    const key = keys.get(blob.subarray(1, 1 + KEY_ID_BYTES).toString('ascii'));
    if (key === undefined) throw invalid;
    const ivStart = 1 + KEY_ID_BYTES;
    const tagStart = ivStart + IV_BYTES;
    const decipher = createDecipheriv('aes-256-gcm', key.material, blob.subarray(ivStart, tagStart));
    decipher.setAAD(additionalData(key.keyArn, context));
    decipher.setAuthTag(blob.subarray(tagStart, headerBytes));
    try {
      return {
        key,
        plaintext: Buffer.concat([decipher.update(blob.subarray(headerBytes)), decipher.final()]),
      };
    } catch {
      throw invalid;
    }
  };

  const handlers: Record<StubOperation, (params: Record<string, unknown>) => Record<string, unknown>> = {
    GetSecretValue(params) {
      const record = findSecret(requireString(params, 'SecretId'));
      if (record === undefined) throw secretNotFound();
      let version: SecretVersion | undefined;
      if (typeof params.VersionId === 'string') {
        version = record.versions.get(params.VersionId);
      } else {
        const stage = typeof params.VersionStage === 'string' ? params.VersionStage : 'AWSCURRENT';
        version = [...record.versions.values()].find((v) => v.stages.has(stage));
      }
      if (version === undefined) {
        throw new AwsFault(
          400,
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret value for the requested version or staging label.",
        );
      }
      return {
        ARN: record.arn,
        Name: record.name,
        VersionId: version.versionId,
        SecretString: version.secretString,
        VersionStages: [...version.stages],
        CreatedDate: version.createdDate,
      };
    },
    PutSecretValue(params) {
      const record = findSecret(requireString(params, 'SecretId'));
      if (record === undefined) throw secretNotFound();
      if (typeof params.SecretString !== 'string') {
        throw new AwsFault(400, 'InvalidParameterException', 'This stub accepts only SecretString values.');
      }
      if (Buffer.byteLength(params.SecretString) > 65536) {
        throw new AwsFault(400, 'InvalidParameterException', 'SecretString exceeds the 65536-byte quota.');
      }
      const token = typeof params.ClientRequestToken === 'string' ? params.ClientRequestToken : randomUUID();
      const existing = record.versions.get(token);
      if (existing !== undefined) {
        // Idempotent retry of the same request; a different value under one token is refused by AWS.
        if (existing.secretString !== params.SecretString) {
          throw new AwsFault(
            400,
            'ResourceExistsException',
            'A resource with the ID you requested already exists.',
          );
        }
        return { ARN: record.arn, Name: record.name, VersionId: token, VersionStages: [...existing.stages] };
      }
      putSecretVersion(record.name, params.SecretString, token);
      return { ARN: record.arn, Name: record.name, VersionId: token, VersionStages: ['AWSCURRENT'] };
    },
    DescribeSecret(params) {
      const record = findSecret(requireString(params, 'SecretId'));
      if (record === undefined) throw secretNotFound();
      const versionIdsToStages: Record<string, string[]> = {};
      for (const version of record.versions.values())
        versionIdsToStages[version.versionId] = [...version.stages];
      return {
        ARN: record.arn,
        Name: record.name,
        CreatedDate: record.createdDate,
        LastChangedDate: record.lastChangedDate,
        VersionIdsToStages: versionIdsToStages,
      };
    },
    Encrypt(params) {
      const keyRef = requireString(params, 'KeyId');
      const key = resolveKey(keyRef);
      if (key === undefined) throw new AwsFault(400, 'NotFoundException', `Key '${keyRef}' does not exist`);
      const plaintext = requireBlob(params, 'Plaintext');
      if (plaintext.length === 0 || plaintext.length > KMS_MAX_PLAINTEXT_BYTES) {
        throw new AwsFault(
          400,
          'ValidationException',
          `1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and ${KMS_MAX_PLAINTEXT_BYTES}`,
        );
      }
      const blob = encryptWith(key, plaintext, readContext(params));
      return {
        CiphertextBlob: blob.toString('base64'),
        KeyId: key.keyArn,
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
    Decrypt(params) {
      const blob = requireBlob(params, 'CiphertextBlob');
      const { key, plaintext } = decryptBlob(blob, readContext(params));
      if (typeof params.KeyId === 'string') {
        const wanted = resolveKey(params.KeyId);
        if (wanted === undefined)
          throw new AwsFault(400, 'NotFoundException', `Key '${params.KeyId}' does not exist`);
        if (wanted.keyId !== key.keyId) {
          throw new AwsFault(
            400,
            'IncorrectKeyException',
            'The key ID in the request does not identify a CMK that can perform this operation.',
          );
        }
      }
      return {
        KeyId: key.keyArn,
        Plaintext: plaintext.toString('base64'),
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
  };

  const takeFault = (operation: StubOperation): FaultSpec | undefined => {
    const entry = faults.find((f) => f.spec.operation === operation && f.remaining > 0);
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    return entry.spec;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST' || req.url !== '/') {
      return sendError(res, new AwsFault(404, 'UnknownOperationException', 'Only POST / is served.'));
    }
    const contentType = req.headers['content-type'] ?? '';
    if (!contentType.startsWith('application/x-amz-json-1.1')) {
      return sendError(
        res,
        new AwsFault(400, 'SerializationException', 'Expected application/x-amz-json-1.1.'),
      );
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const route = TARGETS[target];
    if (route === undefined) {
      return sendError(res, new AwsFault(400, 'UnknownOperationException', `Unknown target '${target}'.`));
    }
    const body = await readBody(req);
    if (body === undefined) {
      return sendError(res, new AwsFault(413, 'SerializationException', 'Request body too large.'));
    }
    const auth = parseAuthorization(req.headers.authorization);
    let params: Record<string, unknown> = {};
    const call: StubCall = {
      target,
      service: route.service,
      operation: route.operation,
      params,
      accessKeyId: auth?.accessKeyId ?? '',
      status: 200,
    };
    try {
      try {
        const parsed: unknown = JSON.parse(body.toString('utf8') || '{}');
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
          throw new Error('not an object');
        params = parsed as Record<string, unknown>;
        call.params = withoutPlaintexts(params);
      } catch {
        throw new AwsFault(400, 'SerializationException', 'The request body is not a JSON object.');
      }
      if (auth === undefined) {
        throw new AwsFault(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
      }
      if (auth.accessKeyId !== credentials.accessKeyId) {
        throw new AwsFault(
          400,
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
        );
      }
      if (auth.service !== route.service || auth.region !== region) {
        throw new AwsFault(
          400,
          'InvalidSignatureException',
          `Credential should be scoped to a valid region and service ${route.service}.`,
        );
      }
      const fault = takeFault(route.operation);
      if (fault !== undefined) throw faultError(fault, route.service, route.operation, params);
      const answer = handlers[route.operation](params);
      recorded.push(call);
      const delay = delays.find((d) => d.operation === route.operation && d.remaining > 0);
      if (delay !== undefined) {
        delay.remaining -= 1;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            resolve();
          }, delay.ms);
          timers.add(timer);
        });
        if (res.destroyed) return; // the client gave up (its abort signal fired)
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(answer));
    } catch (error) {
      const fault =
        error instanceof AwsFault
          ? error
          : new AwsFault(500, 'InternalFailure', `stub failure: ${String(error)}`);
      call.status = fault.status;
      call.errorType = fault.type;
      recorded.push(call);
      sendError(res, fault);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) sendError(res, new AwsFault(500, 'InternalFailure', String(error)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    region,
    accountId,
    credentials,
    keyId: defaultKey.keyId,
    keyArn: defaultKey.keyArn,
    keyAlias,
    clientConfig: (overrides = {}) => ({ endpoint, region, credentials, maxAttempts: 1, ...overrides }),
    addKey,
    putSecret(name, secretString) {
      const { record, versionId } = putSecretVersion(name, secretString);
      return { arn: record.arn, versionId };
    },
    secretValue(secretId) {
      const record = findSecret(secretId);
      return record === undefined ? undefined : currentVersion(record).secretString;
    },
    secretArn(name) {
      const record = secrets.get(name);
      if (record === undefined) throw new Error(`the stub has no secret named ${name}`);
      return record.arn;
    },
    encrypt(plaintext, context = {}, keyRef = defaultKey.keyId) {
      const key = resolveKey(keyRef);
      if (key === undefined) throw new Error(`the stub has no KMS key ${keyRef}`);
      return encryptWith(key, Buffer.from(plaintext), context).toString('base64');
    },
    inject(spec) {
      faults.push({ spec, remaining: spec.times ?? Number.POSITIVE_INFINITY });
    },
    delay({ operation, ms, times = 1 }) {
      delays.push({ operation, ms, remaining: times });
    },
    clearFaults() {
      faults.length = 0;
      delays.length = 0;
    },
    calls: () => recorded.map((c) => ({ ...c, params: structuredClone(c.params) })),
    resetCalls() {
      recorded = [];
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        // The SDK keeps sockets alive; close them so stop() does not wait for their idle timeout.
        server.closeAllConnections();
      }),
  };
}

/** Key ARN and canonical (sorted) encryption context: what a ciphertext is bound to. */
function additionalData(keyArn: string, context: Record<string, string>): Buffer {
  const canonical = Object.keys(context)
    .sort()
    .map((k) => [k, context[k]]);
  return Buffer.from(`${keyArn}\n${JSON.stringify(canonical)}`, 'utf8');
}

function readContext(params: Record<string, unknown>): Record<string, string> {
  const context = params.EncryptionContext;
  if (context === undefined) return {};
  if (context === null || typeof context !== 'object' || Array.isArray(context)) {
    throw new AwsFault(400, 'ValidationException', 'EncryptionContext must be a map of strings.');
  }
  for (const value of Object.values(context)) {
    if (typeof value !== 'string')
      throw new AwsFault(400, 'ValidationException', 'EncryptionContext must be a map of strings.');
  }
  return context as Record<string, string>;
}

function requireString(params: Record<string, unknown>, field: string): string {
  const value = params[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new AwsFault(
      400,
      'ValidationException',
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function requireBlob(params: Record<string, unknown>, field: string): Buffer {
  const value = requireString(params, field);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw new AwsFault(400, 'SerializationException', `'${field}' is not valid base64.`);
  }
  return Buffer.from(value, 'base64');
}

function withoutPlaintexts(params: Record<string, unknown>): Record<string, unknown> {
  const { Plaintext: _p, SecretString: _s, SecretBinary: _b, ...rest } = params;
  return structuredClone(rest);
}

function secretNotFound(): AwsFault {
  return new AwsFault(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
}

function faultError(
  spec: FaultSpec,
  service: StubService,
  operation: StubOperation,
  params: Record<string, unknown>,
): AwsFault {
  if (typeof spec.fault === 'object') {
    return new AwsFault(
      spec.fault.status,
      spec.fault.type,
      spec.fault.message ?? `${spec.fault.type} (injected)`,
    );
  }
  const resource =
    typeof params.SecretId === 'string'
      ? params.SecretId
      : typeof params.KeyId === 'string'
        ? params.KeyId
        : '*';
  switch (spec.fault) {
    case 'access-denied':
      return new AwsFault(
        400,
        'AccessDeniedException',
        `User: arn:aws:sts::123456789012:assumed-role/stub-role/stub is not authorized to perform: ${service}:${operation} on resource: ${resource} because no identity-based policy allows the ${service}:${operation} action`,
      );
    case 'not-found':
      return service === 'kms'
        ? new AwsFault(400, 'NotFoundException', `Key '${resource}' does not exist`)
        : secretNotFound();
    case 'throttling':
      return new AwsFault(400, 'ThrottlingException', 'Rate exceeded');
    case 'internal-error':
      return service === 'kms'
        ? new AwsFault(500, 'KMSInternalException', 'An internal error occurred.')
        : new AwsFault(500, 'InternalServiceError', 'An error occurred on the server side.');
    case 'decryption-failure':
      return new AwsFault(
        400,
        'DecryptionFailure',
        "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
      );
    case 'kms-disabled':
      return new AwsFault(400, 'DisabledException', `${resource} is disabled.`);
  }
}

function sendError(res: ServerResponse, fault: AwsFault): void {
  res.writeHead(fault.status, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-requestid': randomUUID(),
    'x-amzn-errortype': `${fault.type}:`,
  });
  res.end(JSON.stringify({ __type: fault.type, message: fault.message }));
}

/** Reads at most MAX_BODY_BYTES; undefined when the body is larger (the rest is drained). */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk as Buffer);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/kms/aws4_request, ...`; the signature itself is not checked. */
function parseAuthorization(
  header: string | undefined,
): { accessKeyId: string; region: string; service: string } | undefined {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request,/.exec(
    header ?? '',
  );
  if (match === null) return undefined;
  return { accessKeyId: match[1]!, region: match[2]!, service: match[3]! };
}
