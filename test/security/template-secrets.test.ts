/**
 * Issue 5, deployment side: the synthesized CloudFormation template holds no secret and nothing
 * secret-looking, and the function's environment never carries a credential (docs/ARCHITECTURE.md,
 * "Configuration": environment variables are ARNs, URLs, stream lists, a start time).
 *
 * The stack is synthesized with credential variables set in the process environment, as on an
 * operator's machine that also runs the command line: none of them may end up in the template.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { CREDENTIAL_ENV } from '../../bin/cli/credentials';
import { ENV } from '../../lambda/env-names';
import { PLACEHOLDER_SECRET } from '../../lambda/secrets/document';
import { PUSH_TOKEN_SECRET_ENV } from '../../lambda/settings/schema';
import { buildStack, type Cfn } from '../infra/helpers';
import { credentialShapes } from './credential-shapes';
import { scanEvidence } from './evidence';

/** Values planted in the environment during synthesis, one per credential variable the CLI reads. */
const CANARIES: Record<string, string> = {
  [CREDENTIAL_ENV.appId]: randomUUID(),
  [CREDENTIAL_ENV.appKey]: randomUUID(),
  [CREDENTIAL_ENV.accessKey]: `mYtOL3XZ${randomBytes(58).toString('base64url')}`,
  [CREDENTIAL_ENV.secretKey]: randomBytes(64).toString('base64'),
  [CREDENTIAL_ENV.clientId]: randomBytes(32).toString('base64url'),
  [CREDENTIAL_ENV.clientSecret]: randomBytes(48).toString('base64url'),
  [CREDENTIAL_ENV.sinkToken]: randomUUID(),
};

/** Variables the function may have besides the collector's own (ENV): Powertools and Node settings. */
const OTHER_ALLOWED_VARIABLES = new Set([
  // The push receiver's function: the ARN of its token secret, a reference like SECRET_ARN.
  PUSH_TOKEN_SECRET_ENV,
  'POWERTOOLS_SERVICE_NAME',
  'POWERTOOLS_METRICS_NAMESPACE',
  'POWERTOOLS_LOG_LEVEL',
  'LOG_LEVEL',
  'NODE_OPTIONS',
  'AWS_NODEJS_CONNECTION_REUSE_ENABLED',
]);

/** Names that announce a credential. SECRET_ARN names where the secret is, not its value. */
const CREDENTIAL_NAME =
  /SECRET(?!_ARN$)|TOKEN|PASSWORD|PASSWD|API_?KEY|APP_?KEY|ACCESS_?KEY|CLIENT_?ID|APP_?ID|CREDENTIAL|AUTH/i;

/** A CDK logical id (`CollectorFunctionE9933A71`): words, then an 8-digit upper-case hex hash. */
const LOGICAL_ID = /[0-9A-F]{8}$/;
/** CamelCase words and numbers (`ApiV1NeedsRegionalHost`): a name, not random text. */
const CAMEL_WORDS = /^([A-Z][a-z]+|[A-Z]+|[0-9]+)+$/;

interface SecretLooking {
  path: string;
  why: string;
}

/**
 * Strings that look like a credential, wherever they are in the template: header-shaped
 * credentials, AWS access key ids, private keys, JWTs, and random-looking key text (20+ key
 * characters mixing upper case, lower case and digits that are neither a logical id nor a name).
 */
function secretLooking(template: Cfn): SecretLooking[] {
  const found: SecretLooking[] = [];
  const check = (text: string, path: string) => {
    for (const shape of credentialShapes(text)) found.push({ path, why: shape.shape });
    if (/\b(AKIA|ASIA)[A-Z0-9]{16}\b/.test(text)) found.push({ path, why: 'AWS access key id' });
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) found.push({ path, why: 'private key' });
    if (/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./.test(text)) found.push({ path, why: 'JWT' });
    for (const word of text.match(/[A-Za-z0-9+/=_~-]{20,}/g) ?? []) {
      const mixed = /[a-z]/.test(word) && /[A-Z]/.test(word) && /[0-9]/.test(word);
      if (mixed && !LOGICAL_ID.test(word) && !CAMEL_WORDS.test(word)) {
        found.push({ path, why: `random-looking key text (${word.length} characters)` });
      }
    }
  };
  // Bounded by the template's size: every node is visited once.
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'string') check(value, path);
    else if (Array.isArray(value)) {
      value.forEach((v, i) => {
        walk(v, `${path}[${i}]`);
      });
    } else if (value !== null && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        check(key, `${path} (key)`);
        walk(v, `${path}.${key}`);
      }
    }
  };
  walk(template, '$');
  return found;
}

function functionsOf(template: Cfn): Array<[string, Cfn]> {
  return Object.entries<Cfn>(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
}

describe('the synthesized template holds no secret', () => {
  let template: Cfn;

  beforeAll(() => {
    const saved = { ...process.env };
    Object.assign(process.env, CANARIES);
    try {
      template = buildStack('default').template.toJSON();
    } finally {
      process.env = saved;
    }
  });

  it('contains none of the credentials set in the environment at synth time, in any encoding', () => {
    const report = scanEvidence([{ where: 'template', text: JSON.stringify(template) }], CANARIES);
    expect(report.chars).toBeGreaterThan(10_000);
    expect(report.problems).toEqual([]);
  });

  it('contains nothing secret-looking', () => {
    expect(secretLooking(template)).toEqual([]);
  });

  it('the oracle is not blind: it flags a planted key, token, signature header and access key id', () => {
    const planted = {
      Resources: {
        Fn: {
          Properties: {
            Environment: {
              Variables: {
                A: CANARIES[CREDENTIAL_ENV.clientSecret],
                B: `Splunk ${CANARIES[CREDENTIAL_ENV.sinkToken]}`,
                C: `MC ${CANARIES[CREDENTIAL_ENV.accessKey]}:${randomBytes(20).toString('base64')}`,
                D: 'AKIAIOSFODNN7EXAMPLE',
              },
            },
          },
        },
      },
    };
    const whys = secretLooking(planted).map((f) => `${f.path}: ${f.why}`);
    for (const name of ['A', 'B', 'C', 'D']) {
      expect(whys.some((w) => w.startsWith(`$.Resources.Fn.Properties.Environment.Variables.${name}:`))).toBe(
        true,
      );
    }
  });

  it("gives the function only the collector's settings: no variable holds or names a credential", () => {
    const functions = functionsOf(template);
    expect(functions.length).toBeGreaterThan(0);
    const allowed = new Set<string>([...Object.values(ENV), ...OTHER_ALLOWED_VARIABLES]);
    const secretIds = Object.entries<Cfn>(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret')
      .map(([id]) => id);
    for (const [id, fn] of functions) {
      const variables: Record<string, unknown> = fn.Properties.Environment?.Variables ?? {};
      for (const [name, value] of Object.entries(variables)) {
        expect({ function: id, name, allowed: allowed.has(name) }).toEqual({
          function: id,
          name,
          allowed: true,
        });
        expect({ name, namesACredential: CREDENTIAL_NAME.test(name) }).toEqual({
          name,
          namesACredential: false,
        });
        expect(Object.values(CREDENTIAL_ENV)).not.toContain(name);
        if (typeof value === 'string') {
          // A literal is plain configuration: short, and no key text.
          expect({ name, looksSecret: secretLooking({ value }).length > 0 }).toEqual({
            name,
            looksSecret: false,
          });
        }
      }
      // The secret is found through its ARN, a reference to the stack's own secret: never a literal.
      expect(variables[ENV.secretArn]).toEqual({ Ref: expect.any(String) });
      expect(secretIds).toContain((variables[ENV.secretArn] as { Ref: string }).Ref);
    }
  });

  it('creates the secret with the placeholder only, and takes no credential as a parameter', () => {
    const secrets = Object.values<Cfn>(template.Resources).filter(
      (r) => r.Type === 'AWS::SecretsManager::Secret' && r.Condition !== 'PushReceiverEnabled',
    );
    expect(secrets).toHaveLength(1);
    // The Event Push token secret (only when enabled): the placeholder too, until the operator stores a token.
    const pushTokens = Object.values<Cfn>(template.Resources).filter(
      (r) => r.Type === 'AWS::SecretsManager::Secret' && r.Condition === 'PushReceiverEnabled',
    );
    expect(pushTokens).toHaveLength(1);
    expect(JSON.parse(pushTokens[0].Properties.SecretString)).toEqual(PLACEHOLDER_SECRET);
    expect(pushTokens[0].Properties.GenerateSecretString).toBeUndefined();
    expect(JSON.parse(secrets[0].Properties.SecretString)).toEqual(PLACEHOLDER_SECRET);
    expect(secrets[0].Properties.GenerateSecretString).toBeUndefined();

    for (const [name, parameter] of Object.entries<Cfn>(template.Parameters ?? {})) {
      // A credential parameter would pass through CloudFormation's console, events and change sets.
      expect({ name, namesACredential: CREDENTIAL_NAME.test(name) }).toEqual({
        name,
        namesACredential: false,
      });
      expect({ name, noEcho: parameter.NoEcho === true }).toEqual({ name, noEcho: false });
    }
    for (const [name, output] of Object.entries<Cfn>(template.Outputs ?? {})) {
      expect({ name, namesACredential: CREDENTIAL_NAME.test(name) && !/Arn$/.test(name) }).toEqual({
        name,
        namesACredential: false,
      });
      expect(JSON.stringify(output.Value)).not.toMatch(/SecretString|secretsmanager:.*SecretString/);
    }
  });
});
