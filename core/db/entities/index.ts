import { Material, OutputType, Product } from './catalogue.ts';
import { ChatSession } from './chat.ts';
import { Order, OrderItem, RenderJob } from './orders.ts';
import { LinkCode, PlatformLink, Tenant, TenantUser } from './tenancy.ts';

export * from './catalogue.ts';
export * from './chat.ts';
export * from './orders.ts';
export * from './tenancy.ts';

/** Every entity, for ORM discovery. Chat messages, pending actions, audit and usage rows are written with SQL. */
export const allEntities = [Tenant, PlatformLink, TenantUser, LinkCode, Product, Material, OutputType, Order, OrderItem, RenderJob, ChatSession];
