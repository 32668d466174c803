/** Jest runs TypeScript through swc (no type-checking here: `npm run typecheck` does that). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // The leak guard fails a test file whose output holds a known test credential (test/security/).
  setupFilesAfterEnv: [
    'aws-cdk-lib/testhelpers/jest-autoclean',
    '<rootDir>/test/security/global-leak-guard.ts',
  ],
  testTimeout: 30000,
};
