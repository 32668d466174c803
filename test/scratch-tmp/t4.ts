import { connect, createServer as createTls } from 'node:tls';
import * as selfsigned from 'selfsigned';
(async () => {
  const pems = await (selfsigned as any).generate([{ name: 'commonName', value: '127.0.0.1' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256', extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }] });
  const raws = new Map<number|undefined, any>();
  const t0 = Date.now(); const log = (m: string) => console.log(Date.now() - t0, m);
  const server = createTls({ key: pems.private, cert: pems.cert }, (s) => {
    s.on('error', (e) => log('server error ' + (e as any).code));
    s.on('end', () => log('server end'));
    s.once('data', (d) => { const raw = raws.get(s.remotePort); log(`server data ${d.length} raw handle=${!!raw._handle} destroyed=${raw.destroyed} writableEnded=${s.writableEnded}`); raw.resetAndDestroy(); log('reset done'); });
  });
  server.on('connection', (t: any) => raws.set(t.remotePort, t));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as any).port;
  const s = connect({ host: '127.0.0.1', port, ca: [pems.cert] });
  s.on('secureConnect', () => setTimeout(() => s.write(Buffer.alloc(1024, 65), () => { log('client written'); s.end(); }), 20));
  s.on('data', () => {});
  s.on('end', () => log('client end'));
  s.on('error', (e) => log('client error:' + (e as any).code));
  s.on('close', (h) => { log('client close ' + h); server.close(); });
})();
