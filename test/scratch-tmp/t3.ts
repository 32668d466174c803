import { connect } from 'node:tls';
import { createServer as createTls } from 'node:tls';
import * as selfsigned from 'selfsigned';
async function trial(how: 'reset' | 'rawdestroy' | 'tlsdestroy' | 'tlsend', payloadKb: number) {
  const pems = await (selfsigned as any).generate([{ name: 'commonName', value: '127.0.0.1' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256', extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }] });
  const raws = new Map<number|undefined, any>();
  const server = createTls({ key: pems.private, cert: pems.cert }, (s) => {
    s.on('error', () => {});
    s.once('data', () => {
      if (how === 'reset') raws.get(s.remotePort).resetAndDestroy();
      else if (how === 'rawdestroy') raws.get(s.remotePort).destroy();
      else if (how === 'tlsdestroy') s.destroy();
      else s.end();
    });
  });
  server.on('connection', (t: any) => raws.set(t.remotePort, t));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as any).port;
  const events: string[] = [];
  await new Promise<void>((resolve) => {
    const s = connect({ host: '127.0.0.1', port, ca: [pems.cert] });
    s.on('secureConnect', () => setTimeout(() => s.write(Buffer.alloc(payloadKb * 1024, 65), (e) => { events.push('written:' + (e as any)?.code); setTimeout(() => s.end(), DELAY); }), 20));
    s.on('data', () => {});
    s.on('end', () => events.push('end'));
    s.on('error', (e) => events.push('error:' + (e as any).code));
    s.on('close', (h) => { events.push('close:' + h); resolve(); });
  });
  server.close();
  console.log(how, payloadKb + 'KB', events.join(' '));
}
const DELAY = Number(process.env.DELAY); (async () => { for (const kb of [1]) for (const h of ['reset','rawdestroy','tlsdestroy','tlsend'] as const) await trial(h, kb); })();
