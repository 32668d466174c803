import { connect as tcp } from 'node:net';
import { Duplex } from 'node:stream';
import { connect, createServer as createTls } from 'node:tls';
import * as selfsigned from 'selfsigned';
async function trial(how: 'reset'|'graceful'|'rawdestroy', serverDelay: number) {
  const pems = await (selfsigned as any).generate([{ name: 'commonName', value: '127.0.0.1' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256', extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }] });
  const raws = new Map<number|undefined, any>();
  const server = createTls({ key: pems.private, cert: pems.cert }, (s) => {
    s.on('error', () => {});
    s.on('data', () => {});
    if (how !== 'graceful') s.once('data', () => { const raw = raws.get(s.remotePort); const go = () => how === 'reset' ? raw.resetAndDestroy() : raw.destroy(); serverDelay ? setTimeout(go, serverDelay) : go(); });
  });
  server.on('connection', (t: any) => raws.set(t.remotePort, t));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as any).port;
  const ev: string[] = [];
  await new Promise<void>((resolve) => {
    const raw = tcp({ host: '127.0.0.1', port });
    raw.on('error', (e) => ev.push('RAW error:' + (e as any).code));
    raw.on('end', () => ev.push('RAW end'));
    raw.on('close', (h) => ev.push('RAW close:' + h));
    const pipe = new Duplex({
      read() { raw.resume(); },
      write(chunk, _enc, cb) { raw.write(chunk, cb); },
      final(cb) { raw.end(); cb(); },
    });
    raw.on('data', (d) => { if (!pipe.push(d)) raw.pause(); });
    raw.on('end', () => pipe.push(null));
    const s = connect({ socket: pipe, ca: [pems.cert], host: '127.0.0.1' } as any);
    s.on('secureConnect', () => setTimeout(() => s.write(Buffer.alloc(1024, 65), () => s.end()), 20));
    s.on('data', () => {});
    s.on('end', () => ev.push('end'));
    s.on('error', (e) => ev.push('error:' + (e as any).code));
    s.on('close', (h) => { ev.push('close:' + h); setTimeout(resolve, 50); });
  });
  server.close();
  console.log(`${how} +${serverDelay}ms: ${ev.join(' ')}`);
}
(async () => { for (const d of [0, 30]) for (const h of ['reset', 'rawdestroy', 'graceful'] as const) await trial(h, d); })();
