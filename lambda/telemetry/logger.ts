/**
 * The core `Log` port on Powertools Logger: one structured JSON line per call, service name from
 * metric-names.ts, the collector instance on every line and the stream on a stream's lines.
 * Every line passes through a SecretRedactor before it is written.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '../core/ports';
import { SERVICE_NAME } from './metric-names';
import { SecretRedactor } from './redact';

export type LogLevelName = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

export interface CollectorLogOptions {
  /** Collector instance id, added to every line. */
  instance?: string;
  /** Defaults to POWERTOOLS_LOG_LEVEL / LOG_LEVEL, else INFO (Powertools' own resolution). */
  level?: LogLevelName;
  /** Share one redactor between loggers; a new one otherwise. */
  redactor?: SecretRedactor;
}

export interface CollectorLog extends Log {
  /** A log whose every line also carries `keys` (e.g. a stream's). Shares this log's redactor. */
  child(keys: Record<string, string | number | boolean>): CollectorLog;
  /** Values replaced by `[REDACTED]` in every line from now on (e.g. secretValuesOf(credentials)). */
  registerSecrets(values: Iterable<string | undefined>): void;
}

export function createLogger(options: CollectorLogOptions = {}): CollectorLog {
  const redactor = options.redactor ?? new SecretRedactor();
  const logger = new Logger({
    serviceName: SERVICE_NAME,
    ...(options.level === undefined ? {} : { logLevel: options.level }),
    persistentKeys: options.instance === undefined ? {} : { instance: options.instance },
    jsonReplacerFn: redactor.replacer,
  });
  return wrap(logger, redactor);
}

function wrap(logger: Logger, redactor: SecretRedactor): CollectorLog {
  // Powertools merges an attributes object into the line; an empty object adds nothing.
  const extra = (attributes?: Record<string, unknown>) => (attributes === undefined ? [] : [attributes]);
  return {
    debug: (message, attributes) => logger.debug(message, ...extra(attributes)),
    info: (message, attributes) => logger.info(message, ...extra(attributes)),
    warn: (message, attributes) => logger.warn(message, ...extra(attributes)),
    error: (message, attributes) => logger.error(message, ...extra(attributes)),
    child: (keys) => wrap(logger.createChild({ persistentKeys: keys }), redactor),
    registerSecrets: (values) => {
      redactor.register(values);
    },
  };
}
