import { describeCheckpointStoreContract } from './support/checkpoint-store-contract';
import { MemoryCheckpointStore } from './support/memory-checkpoint-store';

describe('MemoryCheckpointStore (the fake the engine tests use)', () => {
  describeCheckpointStoreContract(() => ({ store: new MemoryCheckpointStore(), instance: 'acme' }));
});
