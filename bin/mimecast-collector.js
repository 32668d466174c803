#!/usr/bin/env node
// Runs the TypeScript command-line tool directly (tsx), so a fresh checkout needs no build step.
// The AWS SDK warns on every Node below 22 that its 2027 releases will need 22; this tool supports
// Node 20 and up (README, "Requirements"), so that notice is not the user's to read on each command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs/api').register();
require('./cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
