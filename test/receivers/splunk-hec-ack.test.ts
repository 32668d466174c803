/** Splunk HEC with indexer acknowledgement, one indexer or several behind a load balancer, over real HTTP. */
import { receiverTestKit } from './test-support';

const kit = receiverTestKit();
const CHANNEL = 'FE0ECFAD-13D5-401B-847D-77833BD77131';
const auth = { authorization: 'Splunk hec-token' };
const withChannel = { ...auth, 'x-splunk-request-channel': CHANNEL };
const event = (id: string) => JSON.stringify({ event: { id } });

describe('Splunk HEC with indexer acknowledgement', () => {
  it('answers an ackId per post, counted per channel, and true once when polled', async () => {
    const r = await kit.start({ kind: 'splunk-hec', token: 'hec-token', ack: true });
    const first = await kit.send(r.url, event('a'), withChannel);
    expect(first.json()).toEqual({ text: 'Success', code: 0, ackId: 0 });
    expect((await kit.send(r.url, event('b'), withChannel)).json().ackId).toBe(1);
    const other = '0B5F5A3E-7C1E-4E32-9A53-3D9C3E8C2A10';
    expect((await kit.send(`${r.url}?channel=${other}`, event('c'), auth)).json().ackId).toBe(0);
    expect(r.ids()).toEqual(['a', 'b', 'c']);

    const ackUrl = `${r.origin}/services/collector/ack`;
    const poll = await kit.send(ackUrl, JSON.stringify({ acks: [0, 1, 7] }), withChannel);
    expect(poll.status).toBe(200);
    expect(poll.json()).toEqual({ acks: { '0': true, '1': true, '7': false } });
    // A status is forgotten once read true.
    expect((await kit.send(ackUrl, JSON.stringify({ acks: [0] }), withChannel)).json()).toEqual({
      acks: { '0': false },
    });
    expect(r.hec?.pendingAcks()).toEqual([1]);
  });

  it.each([
    ['without a channel', { ...auth }, 10, 'Data channel is missing'],
    [
      'with a channel that is not a GUID',
      { ...auth, 'x-splunk-request-channel': 'not-a-guid' },
      11,
      'Invalid data channel',
    ],
  ])('refuses a post %s with HEC code %i', async (_name, headers, code, text) => {
    const r = await kit.start({ kind: 'splunk-hec', token: 'hec-token', ack: true });
    const answer = await kit.send(r.url, event('a'), headers);
    expect(answer.status).toBe(400);
    expect(answer.json()).toEqual({ text, code });
    expect(r.received()).toHaveLength(0);
    const poll = await kit.send(`${r.origin}/services/collector/ack`, '{"acks":[0]}', headers);
    expect(poll.json().code).toBe(code);
  });

  it('answers the ack endpoint with code 14 when acknowledgement is off, and checks its token', async () => {
    const plain = await kit.start({ kind: 'splunk-hec', token: 'hec-token' });
    const off = await kit.send(`${plain.origin}/services/collector/ack`, '{"acks":[0]}', withChannel);
    expect(off.status).toBe(400);
    expect(off.json()).toEqual({ text: 'ACK is disabled', code: 14 });
    expect((await kit.send(plain.url, event('a'), auth)).json()).toEqual({ text: 'Success', code: 0 });
    const on = await kit.start({ kind: 'splunk-hec', token: 'hec-token', ack: true });
    const denied = await kit.send(`${on.origin}/services/collector/ack`, '{"acks":[0]}', {
      'x-splunk-request-channel': CHANNEL,
    });
    expect(denied.json().code).toBe(2);
    expect(
      (await kit.send(`${on.origin}/services/collector/ack`, '{"acks":"x"}', withChannel)).json().code,
    ).toBe(6);
  });

  it('keeps an ack false for pollsBeforeAcked polls while indexing', async () => {
    const r = await kit.start({ kind: 'splunk-hec', token: 'hec-token', ack: { pollsBeforeAcked: 2 } });
    await kit.send(r.url, event('a'), withChannel);
    const ackUrl = `${r.origin}/services/collector/ack`;
    const answers = [];
    for (let n = 0; n < 3; n++) {
      answers.push((await kit.send(ackUrl, '{"acks":[0]}', withChannel)).json().acks['0']);
    }
    expect(answers).toEqual([false, false, true]);
  });

  it('models acks that never come true: stuck (indexed) and dropped (lost before indexing)', async () => {
    const r = await kit.start({ kind: 'splunk-hec', token: 'hec-token', ack: true });
    r.inject({ kind: 'hec-ack-stuck' }, { kind: 'hec-ack-dropped' });
    expect((await kit.send(r.url, event('stuck'), withChannel)).json()).toEqual({
      text: 'Success',
      code: 0,
      ackId: 0,
    });
    expect((await kit.send(r.url, event('lost'), withChannel)).json()).toEqual({
      text: 'Success',
      code: 0,
      ackId: 1,
    });
    expect((await kit.send(r.url, event('fine'), withChannel)).json().ackId).toBe(2);
    const ackUrl = `${r.origin}/services/collector/ack`;
    for (let n = 0; n < 3; n++) {
      expect((await kit.send(ackUrl, '{"acks":[0,1]}', withChannel)).json()).toEqual({
        acks: { '0': false, '1': false },
      });
    }
    expect((await kit.send(ackUrl, '{"acks":[2]}', withChannel)).json()).toEqual({ acks: { '2': true } });
    expect(r.ids()).toEqual(['stuck', 'fine']);
  });

  it('loses its acks when an indexer restarts, and numbers the channel from 0 again', async () => {
    const r = await kit.start({ kind: 'splunk-hec', token: 'hec-token', ack: true });
    await kit.send(r.url, event('a'), withChannel);
    await kit.send(r.url, event('b'), withChannel);
    r.hec?.restartIndexer();
    const ackUrl = `${r.origin}/services/collector/ack`;
    expect((await kit.send(ackUrl, '{"acks":[0,1]}', withChannel)).json()).toEqual({
      acks: { '0': false, '1': false },
    });
    expect((await kit.send(r.url, event('c'), withChannel)).json().ackId).toBe(0);
  });

  it('answers Server is busy once a channel holds the limit of unqueried acks', async () => {
    const r = await kit.start({
      kind: 'splunk-hec',
      token: 'hec-token',
      ack: { maxPendingAcksPerChannel: 2 },
    });
    await kit.send(r.url, event('a'), withChannel);
    await kit.send(r.url, event('b'), withChannel);
    const busy = await kit.send(r.url, event('c'), withChannel);
    expect(busy.status).toBe(503);
    expect(busy.json()).toEqual({ text: 'Server is busy', code: 9 });
    await kit.send(`${r.origin}/services/collector/ack`, '{"acks":[0]}', withChannel);
    expect((await kit.send(r.url, event('c'), withChannel)).json().ackId).toBe(2);
    expect(r.ids()).toEqual(['a', 'b', 'c']);
  });

  it('behind a load balancer with sticky sessions, a client that keeps the cookie polls its own indexer', async () => {
    const r = await kit.start({ kind: 'splunk-hec', token: 'hec-token', ack: { indexers: 2 } });
    const posted = await kit.send(r.url, event('a'), withChannel);
    const cookie = String(posted.headers['set-cookie']).split(';')[0];
    expect(cookie).toMatch(/^AWSALB=indexer-\d$/);
    const ackUrl = `${r.origin}/services/collector/ack`;
    for (let n = 0; n < 2; n++) {
      await kit.send(r.url, event(`b${n}`), { ...withChannel, cookie });
    }
    expect((await kit.send(ackUrl, '{"acks":[0,1,2]}', { ...withChannel, cookie })).json()).toEqual({
      acks: { '0': true, '1': true, '2': true },
    });
  });

  it('without stickiness, acks are asked of the wrong indexer: false, or true for another post', async () => {
    const r = await kit.start({
      kind: 'splunk-hec',
      token: 'hec-token',
      ack: { indexers: 2, stickySessions: false },
    });
    // Round robin: posts go to indexers 0 and 1, each answering ackId 0 on this channel.
    expect((await kit.send(r.url, event('on-0'), withChannel)).json().ackId).toBe(0);
    expect((await kit.send(r.url, event('on-1'), withChannel)).json().ackId).toBe(0);
    expect((await kit.send(r.url, event('on-0-again'), withChannel)).json().ackId).toBe(1);
    const ackUrl = `${r.origin}/services/collector/ack`;
    // This poll reaches indexer 1: its ack 0 (for "on-1") is true, its ack 1 was never issued.
    expect((await kit.send(ackUrl, '{"acks":[0,1]}', withChannel)).json()).toEqual({
      acks: { '0': true, '1': false },
    });
    expect(r.hec?.pendingAcks()).toEqual([2, 0]);
  });
});
