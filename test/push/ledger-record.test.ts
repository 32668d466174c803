/**
 * The push receiver and the push ledger (docs/PUSH-GAP-FILL.md): keys are recorded only after the
 * destination acknowledged, never for a push it refused, and a ledger that fails still answers success
 * (the events were delivered; the pull sends them again, a duplicate).
 */
import type { PushedEntry, PushLedger } from '../../lambda/core/push-ledger';
import { MemoryPushLedger } from '../../lambda/core/push-ledger';
import type { StreamId } from '../../lambda/core/streams';
import { PUSH_LIMITS, type PushReceiverDeps, pushMatchKey, receivePush } from '../../lambda/push';
import { RecordingSink, transient } from '../core/support/fakes';
import { RecordingLog } from '../kit/log';

const TOKEN = 'ledger-record-token-0123456789';
const events = [
  { auditType: 'Logon Authentication Failed', eventTime: '2026-11-21T10:15:30+0000', user: 'a@example.com' },
  { auditType: 'Logon Authentication Failed', eventTime: '2026-11-21T10:15:31+0000', user: 'b@example.com' },
];

class FailingLedger implements PushLedger {
  async record(): Promise<void> {
    throw new Error('DynamoDB unreachable');
  }
  async readBucket(): Promise<Uint8Array[]> {
    return [];
  }
}

class SpyLedger extends MemoryPushLedger {
  readonly recorded: Array<{ stream: StreamId; entries: readonly PushedEntry[] }> = [];
  override async record(stream: StreamId, entries: readonly PushedEntry[]): Promise<void> {
    this.recorded.push({ stream, entries });
    await super.record(stream, entries);
  }
}

function push(deps: Partial<PushReceiverDeps> & Pick<PushReceiverDeps, 'destination'>) {
  return receivePush(
    {
      method: 'POST',
      path: '/services/collector/event',
      headers: { authorization: `Splunk ${TOKEN}` },
      body: Buffer.from(JSON.stringify(events.map((event) => ({ event })))),
    },
    {
      token: TOKEN,
      instance: 'prod',
      limits: { ...PUSH_LIMITS, batchMaxEvents: 100, batchMaxBytes: 1024 * 1024 },
      budget: () => ({ signal: new AbortController().signal, deadline: Date.now() + 10_000 }),
      clock: { now: () => Date.now() },
      log: new RecordingLog(),
      ...deps,
    },
  );
}

test('records the match key and event time of each delivered event, after the destination acknowledged', async () => {
  const ledger = new SpyLedger();
  const destination = new RecordingSink();
  let acknowledgedBeforeRecord = false;
  destination.onSend = () => {
    acknowledgedBeforeRecord = ledger.recorded.length === 0;
  };
  const answer = await push({ destination, ledger });
  expect(answer.status).toBe(200);
  expect(acknowledgedBeforeRecord).toBe(true);
  expect(ledger.recorded).toEqual([
    {
      stream: 'audit',
      entries: destination.delivered.map((e) => ({ id: pushMatchKey('audit', e.event), time: e.time })),
    },
  ]);
  expect(ledger.recorded[0]!.entries).toHaveLength(2);
});

test('records nothing for a push the destination refused', async () => {
  const ledger = new SpyLedger();
  const destination = new RecordingSink();
  destination.failOn.set(1, transient('audit', 'receiver answered 503'));
  const answer = await push({ destination, ledger });
  expect(answer.status).toBe(503);
  expect(ledger.recorded).toEqual([]);
});

test('answers success when the ledger fails, and says the pull will repeat the events', async () => {
  const log = new RecordingLog();
  const answer = await push({ destination: new RecordingSink(), ledger: new FailingLedger(), log });
  expect(answer.status).toBe(200);
  expect(log.find('warn', 'Push ledger not written')).toHaveLength(1);
});

test('an observer that throws after delivery is logged; the answer stays success (an error would bring the push again)', async () => {
  const log = new RecordingLog();
  const destination = new RecordingSink();
  const answer = await push({
    destination,
    log,
    onForwarded: () => {
      throw new Error('terminal closed');
    },
    onOutcome: () => {
      throw new Error('metrics unavailable');
    },
  });
  expect(answer.status).toBe(200);
  expect(destination.delivered).toHaveLength(2);
  expect(log.lines.map((l) => l.message)).toEqual(
    expect.arrayContaining(['Push forwarding not reported', 'Push outcome not reported']),
  );
});
