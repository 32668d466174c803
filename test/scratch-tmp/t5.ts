import { connect, createServer as createTls } from 'node:tls';
import * as selfsigned from 'selfsigned';
async function trial(defer: string, serverDelay: number) {
  const pems = await (selfsigned as any).generate([{ name: 'commonName', value: '127.0.0.1' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256', extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }] });
  const raws = new Map<number|undefined, any>();
  const server = createTls({ key: pems.private, cert: pems.cert }, (s) => {
    s.on('error', () => {});
    s.once('data', () => { const raw = raws.get(s.remotePort); const go = () => raw.resetAndDestroy(); serverDelay ? setTimeout(go, serverDelay) : go(); });
  });
  server.on('connection', (t: any) => raws.set(t.remotePort, t));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as any).port;
  const ev: string[] = [];
  await new Promise<void>((resolve) => {
    const s = connect({ host: '127.0.0.1', port, ca: [pems.cert] });
    const end = () => s.end();
    s.on('secureConnect', () => setTimeout(() => s.write(Buffer.alloc(1024, 65), () => {
      if (defer === 'sync') end(); else if (defer === 'tick') process.nextTick(end); else if (defer === 'immediate') setImmediate(end); else setTimeout(end, Number(defer));
    }), 20));
    s.on('data', () => {});
    s.on('end', () => ev.push('end'));
    s.on('error', (e) => ev.push('error:' + (e as any).code));
    s.on('close', (h) => { ev.push('close:' + h); resolve(); });
  });
  server.close();
  console.log(`end ${defer}, server resets +${serverDelay}ms: ${ev.join(' ')}`);
}
(async () => { for (const d of [0, 30]) for (const defer of ['sync', 'tick', 'immediate', '0', '5']) await trial(defer, d); })();
