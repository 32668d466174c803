/**
 * `npm run cost`: the monthly fixed cost of one instance, from a synthesized stack and real ticks of
 * the bundled handler (report.ts). README's "What it costs" shows this output; cost.test.ts keeps
 * them equal.
 */
import { measure, price } from './report';

measure().then(
  (measurement) => {
    process.stdout.write(`${price(measurement).text}\n`);
  },
  (error: unknown) => {
    process.stderr.write(
      `cost report failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
