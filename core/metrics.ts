import client from 'prom-client';

/*
 * Process-wide Prometheus metrics (prom-client). Never labelled with a tenant, user, session or
 * id: /metrics may be scraped without authentication (docs/design.md §9, METRICS_TOKEN) and serves no
 * per-tenant data. bot/metrics.ts adds the gauges read from a running app and the database.
 */

/** The registry behind /metrics: Node's default process metrics plus RenderBot's histograms and counters. */
export const processRegistry = new client.Registry();
client.collectDefaultMetrics({ register: processRegistry, prefix: 'renderbot_' });

const seconds = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 55, 90];

/** From a queued message (or follow-up) being taken to its answer delivered; `outcome` answered | failed | gave_up. */
export const turnSeconds = new client.Histogram({
  name: 'renderbot_turn_seconds',
  help: 'Time from starting a queued turn to its answer being delivered.',
  labelNames: ['outcome'] as const,
  buckets: seconds,
  registers: [processRegistry],
});

/** From a queued message's arrival to its answer delivered (queueing included). */
export const replySeconds = new client.Histogram({
  name: 'renderbot_reply_seconds',
  help: 'Time from a message entering its session inbox to its answer being delivered.',
  buckets: seconds,
  registers: [processRegistry],
});

/** One model call, including waiting for the tenant's cap and the client's retries; `outcome` ok | error. */
export const modelCallSeconds = new client.Histogram({
  name: 'renderbot_model_call_seconds',
  help: 'Duration of model calls (cap wait and retries included).',
  labelNames: ['outcome'] as const,
  buckets: seconds,
  registers: [processRegistry],
});

/** HTTP requests by route pattern (never the concrete path). */
export const httpRequests = new client.Counter({
  name: 'renderbot_http_requests_total',
  help: 'HTTP requests by route.',
  labelNames: ['route'] as const,
  registers: [processRegistry],
});
