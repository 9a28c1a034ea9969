import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signFarmBody } from '../../core/renders/signing.ts';

/** A render job as RenderBot posts it to a farm (docs/render-farm.md). */
export type FarmJob = {
  job_id: string;
  order_number: string;
  product: { pim_id: string; name: string; category: string };
  callback_url: string;
  [key: string]: unknown;
};

/**
 * A fake render farm on 127.0.0.1 speaking the documented wire contract: it accepts every job
 * with 202 and records it; the test decides when and how each job ends by sending RenderBot the
 * farm's signed callbacks.
 */
export async function startFakeFarm() {
  const received: { headers: IncomingHttpHeaders; body: string; job: FarmJob }[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body, job: JSON.parse(body) as FarmJob });
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end('{"accepted":true}');
      for (const w of waiters.filter((w) => received.length >= w.count)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jobs`;
  return {
    url,
    received,
    /** Resolves once `count` jobs arrived in total; returns them. */
    async jobs(count: number): Promise<FarmJob[]> {
      if (received.length < count) await new Promise<void>((resolve) => waiters.push({ count, resolve }));
      return received.map((r) => r.job);
    },
    /** Sends RenderBot a callback signed with `secret`, as a farm would; returns the HTTP status. */
    async callback(botBase: string, secret: string, body: Record<string, unknown>): Promise<number> {
      const raw = JSON.stringify(body);
      const ts = String(Math.floor(Date.now() / 1000));
      const res = await fetch(`${botBase}/render/callback`, {
        method: 'POST',
        body: raw,
        headers: {
          'content-type': 'application/json',
          'x-renderbot-timestamp': ts,
          'x-renderbot-signature': signFarmBody(secret, ts, raw),
        },
      });
      await res.arrayBuffer();
      return res.status;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
export type FakeFarm = Awaited<ReturnType<typeof startFakeFarm>>;
