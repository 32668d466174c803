/**
 * What `configure` and `verify` share: flags that must never carry a value (a stray argument may be
 * a pasted key), the AWS region and SDK client settings from the command's environment, and the
 * Mimecast host with its default.
 */
import { ConfigError, type ConfigProblem } from '../../lambda/errors';
import {
  type ApiVersion,
  KNOWN_MIMECAST_HOSTS,
  V2_GLOBAL_BASE_URL,
  validateMimecastBaseUrl,
} from '../../lambda/settings';
import { CREDENTIAL_ENV } from './credentials';
import { type CommandDeclaration, type ParsedFlags, parseFlags } from './flags';

/**
 * parseFlags, with two changes for commands that handle secrets: a stray argument is not quoted back
 * (it may be a pasted key), and the remedy says where credentials go instead.
 */
export function parseSecretSafeFlags(argv: string[], declaration: CommandDeclaration): ParsedFlags {
  const command = declaration.name;
  try {
    return parseFlags(declaration, argv);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const problems = error.problems.map((p) =>
      p.problem.startsWith('Unexpected argument')
        ? { ...p, problem: 'an argument without a flag (not repeated here, in case it is a secret)' }
        : p,
    );
    throw new ConfigError(
      'command line',
      problems,
      `See \`mimecast-collector ${command} --help\`. Credentials are never passed as arguments: export ${CREDENTIAL_ENV.clientId} and ${CREDENTIAL_ENV.clientSecret} (API 2.0), or the API 1.0 variables, or answer the prompts.`,
    );
  }
}

const ARN_REGION = /^arn:aws[a-z-]*:(?:secretsmanager|kms):([a-z0-9-]+):/;
const REGION_PATTERN = /^[a-z]{2}(?:-[a-z]+)+-\d$/;

/** The AWS region: the flag, else the region inside the ARNs, else the environment. */
export function resolveRegion(
  flag: string | undefined,
  arns: Array<string | undefined>,
  env: Record<string, string | undefined>,
  problems: ConfigProblem[],
): string | undefined {
  const fromArns = [
    ...new Set(arns.map((arn) => (arn ? ARN_REGION.exec(arn)?.[1] : undefined)).filter(Boolean)),
  ];
  if (flag !== undefined) {
    if (!REGION_PATTERN.test(flag)) {
      problems.push({
        field: '--region',
        problem: `"${flag.slice(0, 30)}" is not an AWS region such as eu-west-1`,
      });
      return undefined;
    }
    const other = fromArns.find((r) => r !== flag);
    if (other !== undefined) {
      problems.push({
        field: '--region',
        problem: `is ${flag}, but the ARNs given are in ${other}; leave --region out or make them agree`,
      });
    }
    return flag;
  }
  if (fromArns.length > 1) {
    problems.push({
      field: '--region',
      problem: `the ARNs given are in different regions (${fromArns.join(', ')}); the secret and the key must be in one region`,
    });
    return undefined;
  }
  const region = fromArns[0] ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region === undefined || region === '') {
    problems.push({
      field: '--region',
      problem:
        'is not set and cannot be read from the secret ARN; pass --region (e.g. eu-west-1) or set AWS_REGION',
    });
    return undefined;
  }
  return region;
}

/**
 * SDK client settings from the command's environment (io.env, which is process.env in real use and a
 * test's own map in tests): the SDK itself only ever looks at process.env.
 */
export function awsClientConfig(
  env: Record<string, string | undefined>,
  service: 'secretsManager' | 'kms',
  region: string,
): {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts: number;
} {
  const endpoint =
    (service === 'kms' ? env.AWS_ENDPOINT_URL_KMS : env.AWS_ENDPOINT_URL_SECRETS_MANAGER) ||
    env.AWS_ENDPOINT_URL;
  const {
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_SESSION_TOKEN: sessionToken,
  } = env;
  return {
    region,
    maxAttempts: 3,
    ...(endpoint ? { endpoint } : {}),
    // Without static keys the SDK's own chain (profile, SSO, instance role) applies.
    ...(accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
      : {}),
  };
}

/** The Mimecast host: the flag, or the API 2.0 global host; checked against the API version. */
export function resolveMimecastUrl(
  flag: string | undefined,
  apiVersion: ApiVersion | undefined,
  problems: ConfigProblem[],
): string | undefined {
  if (flag === undefined && apiVersion === 1) {
    problems.push({
      field: '--mimecast-url',
      problem: `is required for API 1.0: your grid's host, one of ${KNOWN_MIMECAST_HOSTS.filter(
        (h) => h.apiVersion === 1,
      )
        .map((h) => `https://${h.host}`)
        .slice(0, 4)
        .join(', ')}, ...`,
    });
    return undefined;
  }
  const checked = validateMimecastBaseUrl(flag ?? V2_GLOBAL_BASE_URL, apiVersion);
  if (!checked.ok) {
    problems.push({ field: '--mimecast-url', problem: checked.problem });
    return undefined;
  }
  return checked.value;
}
