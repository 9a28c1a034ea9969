import { z } from 'zod';
import type { Decision } from '../../core/actions/plan.ts';
import type { TokenIdentity } from '../../core/conversations/intake.ts';
import { hasRole } from '../../core/tenancy/roles.ts';
import { HttpError, sendJson, type RouteBody } from '../http.ts';
import { throwIfLimited, type ApiHandler, type AuthedHandler, type WebRouteDeps, type WebRoute } from './route-deps.ts';
import { MAX_BODY_BYTES } from './http.ts';
import { openApiDocument } from './openapi.ts';
import { feedbackRequestSchema, loginSchema, zodMessage } from './schemas.ts';

/** Sign-in attempts per minute per client address. */
export const LOGINS_PER_MINUTE = 30;

const jsonBody: RouteBody = { kind: 'json', maxBytes: MAX_BODY_BYTES };

/** HTTP status of a decision: 200 done, 404 unknown/foreign, 403 role refused, 409 already decided/expired. */
function decisionStatus(d: Decision, who: TokenIdentity, verb: 'confirm' | 'cancel'): number {
  if (d.ok) return 200;
  if (d.status === 'not_found') return 404;
  if (d.status === 'pending' && (verb === 'cancel' || !hasRole(who.role, 'operator'))) return 403;
  return 409;
}

/** `/api/actions/*` (confirm, cancel), answer feedback, `/api/me`, `/api/auth/login` and `/api/openapi.json`. */
export function actionRoutes(
  ctx: WebRouteDeps,
  authed: (h: AuthedHandler) => WebRoute['handle'],
  api: (h: ApiHandler) => WebRoute['handle'],
): WebRoute[] {
  const decide = (verb: 'confirm' | 'cancel'): WebRoute['handle'] =>
    authed(async (req, res, who) => {
      const actionId = req.params.action_id ?? '';
      if (!z.uuid().safeParse(actionId).success)
        throw new HttpError(404, 'not_found', 'This confirmation was not found.');
      const actor = {
        tenantId: who.tenantId,
        userId: who.userId,
        role: who.role,
        platform: 'web' as const,
        name: who.userId,
      };
      const d =
        verb === 'confirm'
          ? await ctx.conversations.confirm(actor, actionId, { platform: 'web', target: {} })
          : await ctx.conversations.cancel(actor, actionId);
      const status = decisionStatus(d, who, verb);
      if (status === 404) throw new HttpError(404, 'not_found', d.message);
      if (status === 403) throw new HttpError(403, 'forbidden', d.message);
      sendJson(res, status, {
        ok: d.ok,
        status: d.status,
        message: d.message,
        reply: d.reply,
        session_id: d.sessionId ?? null,
      });
    });

  return [
    {
      method: 'PUT',
      path: '/api/chat/answers/:answer_id/feedback',
      body: jsonBody,
      handle: authed(async (req, res, who) => {
        const answerId = req.params.answer_id ?? '';
        const parsed = feedbackRequestSchema.safeParse(req.body ?? {});
        if (!parsed.success) throw new HttpError(400, 'invalid_body', zodMessage(parsed.error));
        const actor = { tenantId: who.tenantId, userId: who.userId, role: who.role, platform: 'web' as const };
        const reason = parsed.data.reason?.trim() || undefined;
        if ((await ctx.conversations.feedback(actor, { answerId, rating: parsed.data.rating, reason })) === 'not_found')
          throw new HttpError(404, 'not_found', 'This answer was not found.');
        sendJson(res, 200, { answer_id: answerId, rating: parsed.data.rating, reason: reason ?? null });
      }),
    },
    { method: 'POST', path: '/api/actions/:action_id/confirm', body: jsonBody, handle: decide('confirm') },
    { method: 'POST', path: '/api/actions/:action_id/cancel', body: jsonBody, handle: decide('cancel') },
    {
      method: 'GET',
      path: '/api/me',
      handle: authed(async (req, res, who) => {
        const overview = await ctx.intake.overview(who.tenantId);
        if (!overview) throw new HttpError(401, 'unauthorized', 'The tenant of this token no longer exists.');
        const { tenant, usage } = overview;
        sendJson(res, 200, {
          user_id: who.userId,
          role: who.role,
          tenant: { slug: tenant.slug, name: tenant.name },
          ai: {
            configured: tenant.aiProvider !== null,
            limit_reached: usage.limit !== null && usage.totalTokens >= usage.limit,
          },
          suggestions: await ctx.conversations.starters(who.tenantId, who.role),
        });
      }),
    },
    {
      method: 'POST',
      path: '/api/auth/login',
      body: jsonBody,
      handle: api(async (req, res) => {
        // Login codes are 256-bit and single-use; a per-address limit still keeps guessing noisy and slow.
        throwIfLimited(await ctx.limits.login.take(ctx.clientAddress(req)), 'Too many sign-in attempts');
        const parsed = loginSchema.safeParse(req.body ?? {});
        if (!parsed.success) throw new HttpError(400, 'invalid_body', zodMessage(parsed.error));
        const redeemed = await ctx.intake.redeemLogin(parsed.data.code);
        if (!redeemed)
          throw new HttpError(
            401,
            'unauthorized',
            'This login link is not valid, was already used or expired. Ask an admin for a new one.',
          );
        sendJson(res, 200, { token: redeemed.token });
      }),
    },
    {
      method: 'GET',
      path: '/api/openapi.json',
      handle: api(async (req, res) => {
        sendJson(res, 200, openApiDocument());
      }),
    },
  ];
}
