export * from './collector-stack';
export * from './constructs/checkpoint-table';
export * from './constructs/collector-function';
export * from './constructs/credentials-store';
export * from './constructs/monitoring';
export * from './defaults';
export * from './parameters';
