import { AuditLog, PendingAction, ProductSelection } from './actions.ts';
import { Material, OutputType, Product } from './catalogue.ts';
import { ChatMessage, ChatSession, TokenUsage } from './chat.ts';
import { AnswerFeedback, AnswerPost } from './feedback.ts';
import { UploadedFile } from './files.ts';
import { IdempotencyKey } from './idempotency.ts';
import { Order, OrderCounter, OrderItem, RenderCallback, RenderJob, RenderJobTally } from './orders.ts';
import { InboundEvent, QueueWorker, RateLimit, SessionLease, TurnInbox } from './queue.ts';
import { ApiToken, LinkCode, PlatformLink, SlackInstallation, Tenant, TenantUser, WebLoginCode } from './tenancy.ts';

export * from './actions.ts';
export * from './catalogue.ts';
export * from './chat.ts';
export * from './feedback.ts';
export * from './files.ts';
export * from './idempotency.ts';
export * from './orders.ts';
export * from './queue.ts';
export * from './tenancy.ts';

/**
 * Every table the application owns, as an entity true to the migrations (test/schema-diff.test.ts
 * proves MikroORM finds nothing to change). Not here: graphile-worker's schema and the
 * query_database views (v_*).
 */
export const allEntities = [
  Tenant,
  PlatformLink,
  TenantUser,
  LinkCode,
  ApiToken,
  WebLoginCode,
  SlackInstallation,
  Product,
  Material,
  OutputType,
  Order,
  OrderCounter,
  OrderItem,
  RenderJob,
  RenderJobTally,
  RenderCallback,
  ChatSession,
  ChatMessage,
  TokenUsage,
  PendingAction,
  ProductSelection,
  AuditLog,
  TurnInbox,
  SessionLease,
  InboundEvent,
  QueueWorker,
  RateLimit,
  IdempotencyKey,
  AnswerFeedback,
  AnswerPost,
  UploadedFile,
] as const;
