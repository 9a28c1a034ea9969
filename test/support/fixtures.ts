import type { EntityManager } from '../../core/db/orm.ts';
import { ensureMaterial, ensureOutputType, upsertProducts, type ProductInput } from '../../core/pipeline/catalogue.ts';
import { createTenant, type TenantRow } from '../../core/tenancy/tenants.ts';
import type { TurnScope } from '../../core/turn-scope.ts';
import type { Role } from '../../core/tenancy/roles.ts';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { rows } from './rows.ts';

/** A small tenant catalogue for tests: products, two materials, two output types. */
export type TenantFixture = {
  tenant: TenantRow;
  productIds: Record<string, string>;
  materialIds: Record<string, string>;
  outputTypeIds: Record<string, string>;
};

const defaultProducts = (prefix: string): ProductInput[] => [
  {
    pimId: `${prefix}-KL-6204`,
    name: `${prefix} Rillenkugellager 6204`,
    category: 'Kugellager',
    materialName: 'Steel-Bare',
  },
  {
    pimId: `${prefix}-KL-6205`,
    name: `${prefix} Rillenkugellager 6205`,
    category: 'Kugellager',
    materialName: 'Steel-Bare',
  },
  {
    pimId: `${prefix}-KL-6206`,
    name: `${prefix} Rillenkugellager 6206 2RS`,
    category: 'Kugellager',
    materialName: 'Unobtainium',
  },
  {
    pimId: `${prefix}-ZR-100`,
    name: `${prefix} Zylinderrollenlager NU 206`,
    category: 'Rollenlager',
    materialName: null,
  },
  {
    pimId: `${prefix}-DI-20`,
    name: `${prefix} Wellendichtring 20x35x7`,
    category: 'Dichtungen',
    materialName: 'NBR-Black',
  },
];

/** Creates tenant `slug` (named `name`, default `Tenant <slug>`) with `defaultProducts(prefix)` (or `products`), materials and output types. */
export async function makeTenant(
  em: EntityManager,
  slug: string,
  opts: { prefix?: string; products?: ProductInput[]; name?: string } = {},
): Promise<TenantFixture> {
  const tenant = await createTenant(em, { slug, name: opts.name ?? `Tenant ${slug}` });
  const products = opts.products ?? defaultProducts(opts.prefix ?? slug.toUpperCase());
  await upsertProducts(em, tenant.id, products);
  const stored = await rows(
    em,
    z.object({ id: z.string(), pim_id: z.string() }),
    `select id, pim_id from product where tenant_id = ?`,
    [tenant.id],
  );
  const productIds = Object.fromEntries(stored.map((r) => [r.pim_id, r.id]));
  const materialIds = {
    'Steel-Bare': await ensureMaterial(em, tenant.id, 'Steel-Bare', 'Bare steel, brushed'),
    'NBR-Black': await ensureMaterial(em, tenant.id, 'NBR-Black', 'Black nitrile rubber'),
  };
  const outputTypeIds = {
    'WebP 1024x1024': await ensureOutputType(em, tenant.id, {
      name: 'WebP 1024x1024',
      format: 'webp',
      width: 1024,
      height: 1024,
    }),
    'PNG 2048x2048': await ensureOutputType(em, tenant.id, {
      name: 'PNG 2048x2048',
      format: 'png',
      width: 2048,
      height: 2048,
    }),
  };
  return { tenant, productIds, materialIds, outputTypeIds };
}

/** A turn context for `tenantId` with a fresh session row. */
export async function makeTurn(
  em: EntityManager,
  tenantId: string,
  opts: { role?: Role; userId?: string } = {},
): Promise<TurnScope> {
  const sessionId = randomUUID();
  await em.execute(`insert into chat_session (id, tenant_id, platform, key) values (?, ?, 'cli', ?)`, [
    sessionId,
    tenantId,
    `test:${sessionId}`,
  ]);
  return { tenantId, sessionId, userId: opts.userId ?? 'test-user', role: opts.role ?? 'operator', platform: 'cli' };
}
