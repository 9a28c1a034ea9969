import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { row, rows } from '../../core/db/sql.ts';
import type { EntityManager } from '../../core/db/orm.ts';
import { RenderBotError } from '../../core/errors.ts';
import { createTenant, getTenantBySlug, type TenantRow } from '../../core/tenancy/tenants.ts';
import {
  ensureMaterial,
  ensureOutputType,
  upsertProducts,
  type OutputTypeInput,
  type ProductInput,
} from '../../core/pipeline/catalogue.ts';
import { nextOrderNumber } from '../../core/pipeline/order-numbers.ts';
import type { OrderStatus } from '../../core/pipeline/statuses.ts';

/** Options of `seedDemo`; the same seed and `now` give the same catalogue and orders. */
export type DemoOptions = { slug?: string; name?: string; products?: number; now?: Date; seed?: number };

/** What `seedDemo` left in the tenant (totals, also when nothing new was written). */
export type DemoSummary = {
  tenant: { id: string; slug: string; name: string };
  created: boolean;
  products: number;
  orders: number;
  jobs: number;
};

/** Materials of the demo library; products also use a few names missing from it. */
export const demoMaterials: Record<string, string> = {
  'Steel-Bare': 'Blanker Wälzlagerstahl 100Cr6',
  'Steel-Zinc': 'Stahl, galvanisch verzinkt',
  'Brass-Polished': 'Messing, poliert',
  'NBR-Black': 'Nitrilkautschuk, schwarz',
  'Aluminium-Anodized': 'Aluminium, eloxiert',
  'POM-White': 'Polyoxymethylen, weiß',
  'Stainless-Brushed': 'Edelstahl 1.4301, gebürstet',
};
const unknownMaterials = ['Steel-Chrome', 'FKM-Brown', 'Bronze-Sintered'];

export const demoOutputTypes: OutputTypeInput[] = [
  { name: 'WebP 1024x1024', format: 'webp', width: 1024, height: 1024 },
  { name: 'PNG 2048x2048', format: 'png', width: 2048, height: 2048 },
  { name: 'JPEG 800x800', format: 'jpeg', width: 800, height: 800 },
  { name: 'WebP 512x512', format: 'webp', width: 512, height: 512 },
];

type Entry = { pim: string; name: string; materials: string[] };
const cross = <A, B>(as: A[], bs: B[]): [A, B][] => as.flatMap((a) => bs.map((b): [A, B] => [a, b]));
const range = (from: number, to: number, step = 1): number[] =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);
const de = (n: number): string => String(n).replace('.', ',');

/** Category → share of the catalogue and its product series (realistic names and PIM ids). */
const categories: { name: string; share: number; entries: () => Entry[] }[] = [
  {
    name: 'Kugellager',
    share: 0.3,
    entries: () => [
      ...cross([...range(6000, 6010), ...range(6200, 6212), ...range(6300, 6310)], ['-2RS', '', '-2Z', '-2RS C3']).map(
        ([n, s]) => ({
          pim: `KL-${n}${s.replace(' ', '-')}`,
          name: `Rillenkugellager ${n}${s}`,
          materials: ['Steel-Bare', 'Steel-Bare', 'Stainless-Brushed'],
        }),
      ),
      ...range(7200, 7212).map((n) => ({
        pim: `KL-${n}-B`,
        name: `Schrägkugellager ${n} B`,
        materials: ['Steel-Bare'],
      })),
      ...[...range(1204, 1210), ...range(2204, 2210)].map((n) => ({
        pim: `KL-${n}`,
        name: `Pendelkugellager ${n}`,
        materials: ['Steel-Bare'],
      })),
      ...range(51100, 51110).map((n) => ({
        pim: `KL-${n}`,
        name: `Axial-Rillenkugellager ${n}`,
        materials: ['Steel-Bare', 'Steel-Zinc'],
      })),
    ],
  },
  {
    name: 'Rollenlager',
    share: 0.16,
    entries: () => [
      ...cross(['NU', 'NJ', 'N'], range(204, 212)).map(([t, n]) => ({
        pim: `RL-${t}${n}E`,
        name: `Zylinderrollenlager ${t} ${n} E`,
        materials: ['Steel-Bare'],
      })),
      ...[...range(30204, 30212), ...range(32205, 32210)].map((n) => ({
        pim: `RL-${n}`,
        name: `Kegelrollenlager ${n}`,
        materials: ['Steel-Bare'],
      })),
      ...range(22205, 22212).map((n) => ({
        pim: `RL-${n}E`,
        name: `Pendelrollenlager ${n} E`,
        materials: ['Steel-Bare'],
      })),
      ...['1512', '2016', '2520', '3020'].map((n) => ({
        pim: `RL-HK${n}`,
        name: `Nadelhülse HK ${n}`,
        materials: ['Steel-Bare', 'Steel-Chrome'],
      })),
    ],
  },
  {
    name: 'Dichtungen',
    share: 0.14,
    entries: () => [
      ...cross([15, 17, 20, 25, 30, 35, 40, 45, 50], [7, 10]).map(([d, b]) => ({
        pim: `DI-WDR-${d}x${d + 15}x${b}`,
        name: `Radial-Wellendichtring ${d}x${d + 15}x${b} BA`,
        materials: ['NBR-Black', 'NBR-Black', 'FKM-Brown'],
      })),
      ...cross([10, 16, 20, 25, 32, 40], [2, 2.5, 3]).map(([d, s]) => ({
        pim: `DI-OR-${d}x${s}`,
        name: `O-Ring ${d}x${de(s)} NBR 70`,
        materials: ['NBR-Black'],
      })),
      ...range(20, 60, 5).map((d) => ({ pim: `DI-VR-${d}A`, name: `V-Ring V-${d} A`, materials: ['NBR-Black'] })),
    ],
  },
  {
    name: 'Linearführungen',
    share: 0.1,
    entries: () => [
      ...cross([15, 20, 25, 30, 35], ['B', 'BL', 'H']).map(([s, v]) => ({
        pim: `LF-KWVE${s}-${v}`,
        name: `Profilschienen-Führungswagen KWVE ${s} ${v}`,
        materials: ['Steel-Bare', 'Aluminium-Anodized'],
      })),
      ...cross([15, 20, 25], [500, 1000, 2000]).map(([s, l]) => ({
        pim: `LF-TSX${s}-${l}`,
        name: `Führungsschiene TSX ${s} L=${l} mm`,
        materials: ['Steel-Bare'],
      })),
      ...[8, 12, 16, 20, 25, 30].map((d) => ({
        pim: `LF-LBBR${d}`,
        name: `Linearkugellager LBBR ${d}-2LS`,
        materials: ['Steel-Bare', 'POM-White'],
      })),
    ],
  },
  {
    name: 'Zahnräder',
    share: 0.11,
    entries: () => [
      ...cross([1, 1.5, 2, 2.5, 3], [15, 20, 30, 40, 60]).map(([m, z]) => ({
        pim: `ZR-M${m}-Z${z}`,
        name: `Stirnrad Modul ${de(m)} Z=${z}`,
        materials: ['Steel-Bare', 'Brass-Polished', 'POM-White'],
      })),
      ...cross([1.5, 2, 3], [15, 20, 25]).map(([m, z]) => ({
        pim: `ZR-KR-M${m}-Z${z}`,
        name: `Kegelrad Modul ${de(m)} Z=${z} 1:1`,
        materials: ['Steel-Bare'],
      })),
      ...cross([1.5, 2, 3], [500, 1000]).map(([m, l]) => ({
        pim: `ZR-ZS-M${m}-${l}`,
        name: `Zahnstange Modul ${de(m)} L=${l} mm`,
        materials: ['Steel-Bare', 'Steel-Zinc'],
      })),
    ],
  },
  {
    name: 'Wellen',
    share: 0.09,
    entries: () => [
      ...cross([8, 10, 12, 16, 20, 25, 30, 40], [300, 500, 1000]).map(([d, l]) => ({
        pim: `WE-PW-${d}-${l}`,
        name: `Präzisionswelle h6 Ø${d} x ${l} mm`,
        materials: ['Steel-Bare', 'Stainless-Brushed'],
      })),
      ...cross(['12x3', '16x4', '20x4', '24x5'], [500, 1000]).map(([t, l]) => ({
        pim: `WE-TR${t}-${l}`,
        name: `Trapezgewindespindel Tr ${t} L=${l} mm`,
        materials: ['Steel-Bare'],
      })),
      ...cross(['1605', '2005', '2510'], [800, 1200]).map(([k, l]) => ({
        pim: `WE-KGT${k}-${l}`,
        name: `Kugelgewindetrieb ${k} L=${l} mm`,
        materials: ['Steel-Bare'],
      })),
    ],
  },
  {
    name: 'Kupplungen',
    share: 0.1,
    entries: () => [
      ...[14, 19, 24, 28, 38, 42].map((s) => ({
        pim: `KU-ROTEX${s}`,
        name: `Klauenkupplung ROTEX ${s} 98 Sh A`,
        materials: ['Aluminium-Anodized', 'Bronze-Sintered'],
      })),
      ...[15, 30, 60, 150].map((s) => ({
        pim: `KU-BK2-${s}`,
        name: `Metallbalgkupplung BK2 ${s}`,
        materials: ['Aluminium-Anodized', 'Stainless-Brushed'],
      })),
      ...[10, 14, 20, 25, 32].map((d) => ({
        pim: `KU-EWK-${d}`,
        name: `Elastische Wellenkupplung EWK ${d}`,
        materials: ['POM-White', 'Aluminium-Anodized'],
      })),
      ...[20, 25, 30, 40].map((d) => ({
        pim: `KU-SK-${d}`,
        name: `Starre Schalenkupplung SK ${d}`,
        materials: ['Steel-Zinc'],
      })),
    ],
  },
];

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T>(rnd: Rng, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const int = (rnd: Rng, min: number, max: number): number => min + Math.floor(rnd() * (max - min + 1));
function shuffle<T>(rnd: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** The demo catalogue: `count` products over the categories by share, ~5 % without and ~4 % with an unknown material. */
export function demoCatalogue(count: number, seed = 42): ProductInput[] {
  const rnd = prng(seed);
  const out: ProductInput[] = [];
  const sizes = categories.map((c) => Math.floor(c.share * count));
  sizes[0]! += count - sizes.reduce((a, b) => a + b, 0);
  categories.forEach((cat, ci) => {
    const entries = shuffle(rnd, cat.entries());
    for (let i = 0; i < sizes[ci]!; i++) {
      const e = entries[i % entries.length]!;
      const cycle = Math.floor(i / entries.length);
      const roll = rnd();
      const material = roll < 0.05 ? null : roll < 0.09 ? pick(rnd, unknownMaterials) : pick(rnd, e.materials);
      out.push({
        pimId: cycle === 0 ? e.pim : `${e.pim}-V${cycle + 1}`,
        name: cycle === 0 ? e.name : `${e.name} Variante ${cycle + 1}`,
        category: cat.name,
        materialName: material,
        attributes: { series: e.name.split(' ')[0] },
      });
    }
  });
  return out;
}

const orderPlan: { status: OrderStatus; count: number; minDays: number; maxDays: number }[] = [
  { status: 'completed', count: 12, minDays: 4, maxDays: 60 },
  { status: 'failed', count: 4, minDays: 3, maxDays: 50 },
  { status: 'cancelled', count: 3, minDays: 2, maxDays: 55 },
  { status: 'rendering', count: 3, minDays: 0.05, maxDays: 0.4 },
  { status: 'submitted', count: 3, minDays: 0.03, maxDays: 0.08 },
  { status: 'draft', count: 5, minDays: 0.2, maxDays: 12 },
];
const renderErrors = [
  'Renderer timeout after 600 s',
  'CAD import failed: mesh has non-manifold edges',
  'Texture for material not found in material library',
  'GPU worker out of memory (24 GB)',
];
const notes = [
  'Katalog 2027, Kapitel Wälzlager',
  'Webshop-Relaunch: Freisteller',
  'Messe Hannover – Produktposter',
  null,
  null,
  null,
];
const originSource = 'demo-seed';

const productRow = z.object({
  id: z.string(),
  pim_id: z.string(),
  category: z.string(),
  material_name: z.string().nullable(),
});
type Product = z.infer<typeof productRow>;
type JobRow = {
  order_id: string;
  order_item_id: string;
  product_id: string;
  status: string;
  attempts: number;
  error: string | null;
  result_url: string | null;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
};

/**
 * Seeds (or tops up) the demo tenant in one transaction: the tenant unless it exists, the
 * catalogue by PIM id upsert, materials and output types by name, and — only when the tenant has
 * no demo orders yet — ~30 orders in every status with items and consistent render jobs over the
 * last ~60 days, numbered through order_counter.
 */
export async function seedDemo(em: EntityManager, opts: DemoOptions = {}): Promise<DemoSummary> {
  const slug = opts.slug ?? 'demo';
  const now = opts.now ?? new Date();
  const rnd = prng((opts.seed ?? 42) + 1);
  return em.transactional(async (tx) => {
    let tenant: TenantRow;
    let created = false;
    try {
      tenant = await getTenantBySlug(tx, slug);
    } catch (err) {
      if (!(err instanceof RenderBotError && err.code === 'tenant_not_found')) throw err;
      tenant = await createTenant(tx, { slug, name: opts.name ?? 'Demo Antriebstechnik GmbH' });
      created = true;
    }
    const t = tenant.id;
    const materialIds = new Map<string, string>();
    for (const [name, description] of Object.entries(demoMaterials))
      materialIds.set(name, await ensureMaterial(tx, t, name, description));
    const outputTypes = [];
    for (const o of demoOutputTypes) outputTypes.push({ ...o, id: await ensureOutputType(tx, t, o) });
    await upsertProducts(tx, t, demoCatalogue(opts.products ?? 240, opts.seed ?? 42));

    const seeded = await row(
      tx,
      z.object({ one: z.number() }),
      `select 1 as one from render_order where tenant_id = ? and origin->>'source' = ? limit 1`,
      [t, originSource],
    );
    if (!seeded) {
      const products = await rows(
        tx,
        productRow,
        `select id, pim_id, category, material_name from product where tenant_id = ? order by pim_id`,
        [t],
      );
      const specs = orderPlan
        .flatMap((p) =>
          Array.from({ length: p.count }, () => ({
            status: p.status,
            createdAt: new Date(now.getTime() - (p.minDays + rnd() * (p.maxDays - p.minDays)) * 86_400_000),
          })),
        )
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
      const orders = [];
      const items: { id: string; order_id: string; product_id: string }[] = [];
      const jobs: JobRow[] = [];
      let drafts = 0;
      for (const [index, spec] of specs.entries()) {
        const id = randomUUID();
        const number = await nextOrderNumber(tx, t, spec.createdAt);
        const ot = rnd() < 0.55 ? outputTypes[0]! : pick(rnd, outputTypes);
        const withProblems = spec.status === 'draft' && drafts++ === 0;
        const chosen = sampleProducts(rnd, products, withProblems);
        const override = !withProblems && index % 9 === 4 ? materialIds.get('Steel-Zinc')! : null;
        // Cancelled demo orders were cancelled before dispatch, so like drafts they have no jobs.
        const submitted =
          spec.status === 'draft' || spec.status === 'cancelled'
            ? null
            : new Date(spec.createdAt.getTime() + int(rnd, 2, 30) * 60_000);
        let lastFinished = submitted ?? spec.createdAt;
        for (const [k, p] of chosen.entries()) {
          const itemId = randomUUID();
          items.push({ id: itemId, order_id: id, product_id: p.id });
          if (!submitted) continue;
          const status = jobStatusFor(spec.status, k, chosen.length, rnd);
          const started =
            status === 'queued'
              ? null
              : new Date(submitted.getTime() + (int(rnd, 5, 120) + k * int(rnd, 25, 50)) * 1000);
          const finished =
            started && (status === 'completed' || status === 'failed')
              ? new Date(started.getTime() + int(rnd, 20, 240) * (ot.width > 1024 ? 1.6 : 1) * 1000)
              : null;
          if (finished && finished > lastFinished) lastFinished = finished;
          jobs.push({
            order_id: id,
            order_item_id: itemId,
            product_id: p.id,
            status,
            attempts: status === 'failed' ? 3 : status === 'queued' ? 0 : 1,
            error: status === 'failed' ? pick(rnd, renderErrors) : null,
            result_url:
              status === 'completed'
                ? `https://renders.example.com/${slug}/${number}/${p.pim_id}.${ot.format === 'jpeg' ? 'jpg' : ot.format}`
                : null,
            queued_at: submitted.toISOString(),
            started_at: started?.toISOString() ?? null,
            finished_at: finished?.toISOString() ?? null,
          });
        }
        orders.push({
          id,
          order_number: number,
          status: spec.status,
          output_type_id: ot.id,
          material_override_id: override,
          render_overrides:
            rnd() < 0.3
              ? {
                  background: pick(rnd, ['transparent', 'white']),
                  camera_angle: pick(rnd, ['iso', 'front', 'three-quarter']),
                }
              : {},
          notes: pick(rnd, notes),
          created_by: 'demo',
          origin: { source: originSource },
          created_at: spec.createdAt.toISOString(),
          updated_at: lastFinished.toISOString(),
          submitted_at: submitted?.toISOString() ?? null,
          completed_at: spec.status === 'completed' ? lastFinished.toISOString() : null,
        });
      }
      await insertRows(tx, t, orders, items, jobs);
    }
    const counts = await row(
      tx,
      z.object({ products: z.coerce.number(), orders: z.coerce.number(), jobs: z.coerce.number() }),
      `select (select count(*) from product where tenant_id = ?) as products, (select count(*) from render_order where tenant_id = ?) as orders,
              (select count(*) from render_job where tenant_id = ?) as jobs`,
      [t, t, t],
    );
    return {
      tenant: { id: t, slug: tenant.slug, name: tenant.name },
      created,
      products: counts?.products ?? 0,
      orders: counts?.orders ?? 0,
      jobs: counts?.jobs ?? 0,
    };
  });
}

/** A job status consistent with its order's status. */
function jobStatusFor(order: OrderStatus, k: number, size: number, rnd: Rng): string {
  if (order === 'submitted') return 'queued';
  if (order === 'completed') return 'completed';
  if (order === 'failed') return k === 0 || rnd() < 0.2 ? 'failed' : 'completed';
  const done = Math.max(1, Math.floor(size * 0.4));
  return k < done ? 'completed' : k < done + 2 ? 'running' : 'queued';
}

/** 4–24 distinct products, mostly of one category; `withProblems` adds one without and one with an unknown material. */
function sampleProducts(rnd: Rng, products: Product[], withProblems: boolean): Product[] {
  const category = pick(rnd, categories).name;
  const pool = shuffle(
    rnd,
    products.filter((p) => p.category === category || rnd() < 0.1),
  );
  const chosen = pool.slice(0, int(rnd, 4, 24));
  if (withProblems) {
    const known = new Set(Object.keys(demoMaterials).map((m) => m.toLowerCase()));
    const missing = products.find((p) => p.material_name === null);
    const unknown = products.find((p) => p.material_name !== null && !known.has(p.material_name.toLowerCase()));
    for (const p of [missing, unknown]) if (p && !chosen.includes(p)) chosen.push(p);
  }
  return chosen;
}

async function insertRows(
  tx: EntityManager,
  tenantId: string,
  orders: object[],
  items: object[],
  jobs: JobRow[],
): Promise<void> {
  await tx.execute(
    `insert into render_order (id, tenant_id, order_number, status, output_type_id, material_override_id, render_overrides, notes,
       created_by, origin, created_at, updated_at, submitted_at, completed_at)
     select x.id, ?, x.order_number, x.status, x.output_type_id, x.material_override_id, x.render_overrides, x.notes,
       x.created_by, x.origin, x.created_at, x.updated_at, x.submitted_at, x.completed_at
     from jsonb_to_recordset(?::jsonb) as x(id uuid, order_number text, status text, output_type_id uuid, material_override_id uuid,
       render_overrides jsonb, notes text, created_by text, origin jsonb, created_at timestamptz, updated_at timestamptz,
       submitted_at timestamptz, completed_at timestamptz)`,
    [tenantId, JSON.stringify(orders)],
  );
  await tx.execute(
    `insert into order_item (id, tenant_id, order_id, product_id)
     select x.id, ?, x.order_id, x.product_id from jsonb_to_recordset(?::jsonb) as x(id uuid, order_id uuid, product_id uuid)`,
    [tenantId, JSON.stringify(items)],
  );
  await tx.execute(
    `insert into render_job (tenant_id, order_id, order_item_id, product_id, status, attempts, error, result_url, queued_at, started_at, finished_at)
     select ?, x.order_id, x.order_item_id, x.product_id, x.status, x.attempts, x.error, x.result_url, x.queued_at, x.started_at, x.finished_at
     from jsonb_to_recordset(?::jsonb) as x(order_id uuid, order_item_id uuid, product_id uuid, status text, attempts int, error text,
       result_url text, queued_at timestamptz, started_at timestamptz, finished_at timestamptz)`,
    [tenantId, JSON.stringify(jobs)],
  );
}
