/**
 * Issue 7, IAM: the function's role grants exactly the AWS calls its code makes, derived from the
 * source rather than kept by hand, so a new SDK call without a grant fails here, and so does a grant
 * whose call was removed.
 *
 * "The calls the code makes": every `new <X>Command(...)` of an `@aws-sdk/*` package in a function
 * reachable from the Lambda entry point (lambda/handler.ts `handler` and module-level code). Reachable
 * is computed with the TypeScript checker over the real program: a function is reached when a reached
 * body refers to it; a call through an interface (CheckpointStore, StreamSource, Sink, ...) reaches
 * the members of that name of every class or object literal in lambda/ assignable to the interface. So
 * the operator-only paths in the same modules (`writeSecret`'s PutSecretValue, `wrapSecretFields`'
 * Encrypt, the store's Query for `status` and Delete for `reset`) are not counted: the handler never
 * reaches them, and the role must not allow them.
 *
 * Implied calls: GetSecretValue on a secret encrypted with our key makes Secrets Manager call
 * kms:Decrypt on the function's behalf (granted only with `kms:ViaService`).
 * Not SDK calls: writing the function's logs and the on-failure destination's SQS messages are done
 * by the Lambda service; those grants are checked as a fixed list.
 */
import * as path from 'node:path';
import * as ts from 'typescript';
import { buildStack, type Cfn } from '../infra/helpers';
import { evaluate, iamGlob } from '../infra/intrinsics';

const ROOT = path.resolve(__dirname, '..', '..');
const LAMBDA_DIR = `${path.join(ROOT, 'lambda')}${path.sep}`;
const ENTRY = path.join(ROOT, 'lambda', 'handler.ts');

/** IAM service prefix of each SDK package whose commands the function may use. */
const SERVICE_OF_PACKAGE: Record<string, string> = {
  'client-secrets-manager': 'secretsmanager',
  'client-kms': 'kms',
  'client-dynamodb': 'dynamodb',
  'lib-dynamodb': 'dynamodb',
  'client-s3': 's3',
};

/**
 * SDK operations IAM authorizes under another action's name: S3's HeadObject is allowed by s3:GetObject
 * (IAM has no s3:HeadObject).
 */
const IAM_ACTION_OF_CALL: Record<string, string> = { 's3:HeadObject': 's3:GetObject' };

/** The DynamoDB DocumentClient's commands and the DynamoDB actions they send. */
const DOCUMENT_CLIENT_ACTIONS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  Query: 'Query',
  Scan: 'Scan',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
  ExecuteStatement: 'PartiQLSelect',
};

/** Calls AWS services make on the function's behalf because of one of its calls. */
const IMPLIED: Record<string, string[]> = {
  'secretsmanager:GetSecretValue': ['kms:Decrypt via secretsmanager'],
  // The drain reads exactly the version a notification of a versioned bucket names (GetObject with
  // VersionId), which IAM authorizes as s3:GetObjectVersion (lambda/drain/s3-object-store.ts).
  's3:GetObject': ['s3:GetObjectVersion'],
};

/** Granted for the Lambda service itself: its log group, and the on-failure destination. */
const RUNTIME_GRANTS = [
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:SendMessage',
];

interface SdkCall {
  action: string;
  command: string;
  file: string;
}

/** Every SDK command constructed in code reachable from the handler, as IAM actions. */
function reachableSdkCalls(): SdkCall[] {
  const program = ts.createProgram([ENTRY], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    esModuleInterop: true,
    resolveJsonModule: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const own = (file: ts.SourceFile) => file.fileName.startsWith(LAMBDA_DIR);

  // Members of every class and object literal in lambda/, to resolve calls through interfaces.
  const members: Array<{
    name: string;
    node: ts.Node;
    container: ts.ClassLikeDeclaration | ts.ObjectLiteralExpression;
  }> = [];
  for (const file of program.getSourceFiles().filter(own)) {
    const collect = (node: ts.Node): void => {
      if (ts.isClassLike(node) || ts.isObjectLiteralExpression(node)) {
        const list: readonly (ts.ClassElement | ts.ObjectLiteralElementLike)[] = ts.isObjectLiteralExpression(
          node,
        )
          ? node.properties
          : node.members;
        for (const member of list) {
          if (
            member.name !== undefined &&
            (ts.isIdentifier(member.name) || ts.isStringLiteral(member.name))
          ) {
            members.push({ name: member.name.text, node: member, container: node });
          }
        }
      }
      ts.forEachChild(node, collect);
    };
    collect(file);
  }
  const containerType = (container: ts.ClassLikeDeclaration | ts.ObjectLiteralExpression): ts.Type =>
    ts.isObjectLiteralExpression(container)
      ? checker.getTypeAtLocation(container)
      : checker.getTypeAtLocation(container.name ?? container);
  const implementations = (signature: ts.Declaration, name: string): ts.Node[] => {
    const owner = checker.getTypeAtLocation(signature.parent);
    return members
      .filter((m) => m.name === name && checker.isTypeAssignableTo(containerType(m.container), owner))
      .map((m) => m.node);
  };

  const reached = new Set<ts.Node>();
  const queue: ts.Node[] = [];
  const reach = (node: ts.Node): void => {
    if (reached.has(node)) return;
    reached.add(node);
    queue.push(node);
  };
  /** A referenced declaration: a class is reached through its construction (constructor and field initialisers); its methods only when referred to. */
  const reachDeclaration = (declaration: ts.Declaration): void => {
    if (ts.isClassLike(declaration)) {
      for (const member of declaration.members) {
        if (
          ts.isConstructorDeclaration(member) ||
          ts.isPropertyDeclaration(member) ||
          ts.isClassStaticBlockDeclaration(member)
        ) {
          reach(member);
        }
      }
      return;
    }
    if (ts.isMethodSignature(declaration) || ts.isPropertySignature(declaration)) {
      const name = declaration.name;
      if (ts.isIdentifier(name) || ts.isStringLiteral(name))
        for (const impl of implementations(declaration, name.text)) reach(impl);
      return;
    }
    if (
      ts.isSourceFile(declaration) ||
      ts.isInterfaceDeclaration(declaration) ||
      ts.isTypeAliasDeclaration(declaration)
    )
      return;
    reach(declaration);
  };

  const calls = new Map<string, SdkCall>();
  const entry = program.getSourceFile(ENTRY);
  if (entry === undefined) throw new Error(`${ENTRY} is not in the program`);
  reach(entry);
  for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
    const visit = (n: ts.Node): void => {
      if (ts.isIdentifier(n)) {
        let symbol = checker.getSymbolAtLocation(n);
        if (symbol !== undefined && symbol.flags & ts.SymbolFlags.Alias)
          symbol = checker.getAliasedSymbol(symbol);
        for (const declaration of symbol?.declarations ?? []) {
          const file = declaration.getSourceFile();
          const sdk = /[\\/]node_modules[\\/]@aws-sdk[\\/]([^\\/]+)[\\/]/.exec(file.fileName);
          if (
            sdk &&
            ts.isNewExpression(n.parent) &&
            n.parent.expression === n &&
            n.text.endsWith('Command')
          ) {
            const service = SERVICE_OF_PACKAGE[sdk[1]] ?? `unknown(${sdk[1]})`;
            const operation = n.text.slice(0, -'Command'.length);
            const action = `${service}:${sdk[1] === 'lib-dynamodb' ? (DOCUMENT_CLIENT_ACTIONS[operation] ?? `unknown(${operation})`) : operation}`;
            calls.set(action, {
              action,
              command: n.text,
              file: path.relative(ROOT, n.getSourceFile().fileName),
            });
          }
          if (own(file)) reachDeclaration(declaration);
        }
      }
      ts.forEachChild(n, visit);
    };
    if (ts.isSourceFile(node)) {
      // Module-level code runs at import; declarations run only when reached.
      for (const statement of node.statements) {
        if (
          !ts.isFunctionDeclaration(statement) &&
          !ts.isClassDeclaration(statement) &&
          !ts.isInterfaceDeclaration(statement)
        )
          visit(statement);
      }
      // The entry's exported handler is what Lambda calls.
      if (node === entry) {
        for (const statement of node.statements)
          if (ts.isFunctionDeclaration(statement) && statement.name?.text === 'handler') reach(statement);
      }
    } else {
      visit(node);
    }
    // A reached file's imports are loaded, so their module-level code runs too.
    const file = node.getSourceFile();
    for (const statement of file.statements) {
      if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
        const symbol = checker.getSymbolAtLocation(statement.moduleSpecifier);
        const target = symbol?.valueDeclaration;
        if (
          target !== undefined &&
          ts.isSourceFile(target) &&
          own(target) &&
          !statement.importClause?.isTypeOnly
        )
          reach(target);
      }
    }
  }
  return [...calls.values()].sort((a, b) => a.action.localeCompare(b.action));
}

/** Every action the function's role allows, kms:Decrypt labelled by whether it goes through a service. */
function grantedActions(template: Record<string, Cfn>): string[] {
  const resources: Record<string, Cfn> = template.Resources;
  const fn = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::Function');
  const roleId: string = fn.Properties.Role['Fn::GetAtt'][0];
  const policies = Object.values(resources).filter(
    (r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: Cfn) => role.Ref === roleId),
  );
  const role = resources[roleId];
  expect(role.Properties.ManagedPolicyArns ?? []).toEqual([]);
  expect(role.Properties.Policies ?? []).toEqual([]);
  const out = new Set<string>();
  for (const policy of policies) {
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      expect(statement.Effect).toBe('Allow');
      for (const action of [statement.Action].flat() as string[]) {
        const via = JSON.stringify(statement.Condition?.StringEquals?.['kms:ViaService'] ?? '');
        out.add(
          action === 'kms:Decrypt' && via.includes('secretsmanager.')
            ? 'kms:Decrypt via secretsmanager'
            : action,
        );
      }
    }
  }
  return [...out].sort();
}

const calls = reachableSdkCalls();
const template: Record<string, Cfn> = buildStack('iam').template.toJSON();
const granted = grantedActions(template);

test('the handler reaches the SDK calls a tick needs, and none of the operator-only ones', () => {
  // A sanity floor for the analysis itself: if it stopped seeing calls, the comparison below would be empty.
  expect(calls.map((c) => c.action)).toEqual(
    expect.arrayContaining(['secretsmanager:GetSecretValue', 'dynamodb:UpdateItem']),
  );
  for (const operatorOnly of ['secretsmanager:PutSecretValue', 'kms:Encrypt', 'dynamodb:DeleteItem']) {
    expect(calls.map((c) => c.action)).not.toContain(operatorOnly);
  }
  for (const call of calls) expect(call.action).not.toMatch(/unknown/);
});

test('every SDK call the function makes is granted, and every SDK grant has its call', () => {
  const needed = [
    ...new Set(
      calls
        .map((c) => IAM_ACTION_OF_CALL[c.action] ?? c.action)
        .flatMap((action) => [action, ...(IMPLIED[action] ?? [])]),
    ),
  ].sort();
  // The Event Push drain's reads are seen (and granted under DrainsPushBucket: see below).
  expect(calls.map((c) => c.action)).toEqual(expect.arrayContaining(['s3:GetObject', 's3:HeadObject']));
  // The s3 destination's one call is seen, and granted (under IsS3Sink: see the next test).
  expect(calls.map((c) => c.action)).toContain('s3:PutObject');
  const sdkGrants = granted.filter((action) => !RUNTIME_GRANTS.includes(action));
  const where = Object.fromEntries(calls.map((c) => [c.action, `${c.command} in ${c.file}`]));
  expect({
    missingGrants: needed
      .filter((a) => !sdkGrants.includes(a))
      .map((a) => `${a} (${where[a] ?? 'implied or authorized under this name'})`),
  }).toEqual({
    missingGrants: [],
  });
  expect({ grantsWithoutCall: sdkGrants.filter((a) => !needed.includes(a)) }).toEqual({
    grantsWithoutCall: [],
  });
});

test('the only other grants are the ones the Lambda service uses for logs and the failure destination', () => {
  const other = granted.filter((action) => !Object.values(SERVICE_OF_PACKAGE).includes(action.split(':')[0]));
  expect(other).toEqual([...RUNTIME_GRANTS].sort());
});

test('s3:PutObject is granted only when SinkFormat is s3 (IsS3Sink), on the objects under the IngestionUrl prefix', () => {
  const resources: Record<string, Cfn> = template.Resources;
  const fn = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::Function');
  const roleId: string = fn.Properties.Role['Fn::GetAtt'][0];
  const statements = Object.values(resources)
    .filter(
      (r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: Cfn) => role.Ref === roleId),
    )
    .flatMap((policy) =>
      policy.Properties.PolicyDocument.Statement.map((statement: Cfn) => ({
        condition: policy.Condition as string | undefined,
        statement,
      })),
    );
  const afterScheme = { 'Fn::Select': [1, { 'Fn::Split': ['s3://', { Ref: 'IngestionUrl' }] }] };
  const lake = {
    condition: 'IsS3Sink',
    statement: {
      Sid: 'WriteLakeObjects',
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', afterScheme, '*']] },
    },
  };
  const drain = {
    condition: 'DrainsPushBucket',
    statement: {
      Sid: 'ReadEventPushObjects',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':s3:::',
            { Ref: 'PushBucketName' },
            '/',
            { Ref: 'PushBucketPrefix' },
            '*',
          ],
        ],
      },
    },
  };
  expect(statements.filter(({ statement }) => JSON.stringify(statement.Action).includes('"s3:'))).toEqual([
    lake,
    drain,
  ]);
  // Every other grant holds whatever the parameters; only the lake's and the drain's depend on them.
  expect(statements.filter(({ condition }) => condition !== undefined)).toEqual([lake, drain]);
});

test('the drain reads only objects under PushBucketPrefix of PushBucketName, and only when PushBucket is not none', () => {
  expect(template.Conditions.DrainsPushBucket).toEqual({
    'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'PushBucket' }, 'none'] }],
  });
  const policy = Object.values<Cfn>(template.Resources).find(
    (r) => r.Type === 'AWS::IAM::Policy' && r.Condition === 'DrainsPushBucket',
  );
  const [statement] = policy.Properties.PolicyDocument.Statement;
  const glob = (PushBucketName: string, PushBucketPrefix: string) =>
    iamGlob(evaluate(statement.Resource, { PushBucketName, PushBucketPrefix }) as string);
  const under = glob('event-push', 'mimecast/push/');
  expect(under.test('arn:aws:s3:::event-push/mimecast/push/2026/12/06/events-1.json.gz')).toBe(true);
  for (const outside of [
    'arn:aws:s3:::event-push/mimecast/push',
    'arn:aws:s3:::event-push/mimecast/pushed/x.json',
    'arn:aws:s3:::event-push/mimecast/other.json',
    'arn:aws:s3:::event-push',
    'arn:aws:s3:::event-push-other/mimecast/push/x.json',
  ]) {
    expect({ outside, granted: under.test(outside) }).toEqual({ outside, granted: false });
  }
  // An empty prefix: every object of that bucket, still not the bucket itself nor another bucket.
  const whole = glob('event-push', '');
  expect(whole.test('arn:aws:s3:::event-push/any/key.json')).toBe(true);
  expect(whole.test('arn:aws:s3:::event-push')).toBe(false);
  expect(whole.test('arn:aws:s3:::event-push-other/key.json')).toBe(false);
});

test('dynamodb:Query is granted only on the push ledger partitions, never on checkpoints', () => {
  const statements = Object.values<Cfn>(template.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Cfn[])
    .filter((statement) => JSON.stringify(statement.Action).includes('dynamodb:Query'));
  expect(statements.length).toBeGreaterThan(0);
  for (const statement of statements) {
    expect(statement.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['pushed#*'] },
    });
  }
});
