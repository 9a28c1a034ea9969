import type { App as BoltApp, types as slack } from '@slack/bolt';
import { commandHelp } from '../../core/commands/help.ts';
import type { MonthlyUsage, TenantOverview } from '../../core/conversations/intake.ts';
import type { ListenerDeps } from './messages.ts';
import { UNLINKED_TEXT } from './messages.ts';
import { slackWorkspace } from './identity.ts';
import { escapeMrkdwn } from './render.ts';

/**
 * The App Home tab: tenant name, this month's AI usage against the limit, and the commands.
 * Unlinked workspaces see how to link. Pure.
 */
export function homeView(input: { tenant?: TenantOverview['tenant']; usage?: MonthlyUsage }): slack.HomeView {
  const help: slack.KnownBlock = {
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: [
        '*Commands* (`/render <command>`, or mention me)',
        ...commandHelp.map((c) => `• \`${escapeMrkdwn(c.usage)}\` — ${escapeMrkdwn(c.does)}`),
      ].join('\n'),
    },
  };
  if (!input.tenant) {
    return {
      type: 'home',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'RenderBot' } },
        { type: 'section', text: { type: 'mrkdwn', text: UNLINKED_TEXT } },
      ],
    };
  }
  const u = input.usage;
  const fields = u
    ? [
        {
          type: 'mrkdwn' as const,
          text: `*Tokens this month (${u.month.slice(0, 7)})*\n${u.totalTokens.toLocaleString('en')}`,
        },
        {
          type: 'mrkdwn' as const,
          text: `*Monthly limit*\n${u.limit === null ? 'none' : `${u.limit.toLocaleString('en')} (${Math.round((u.totalTokens / Math.max(1, u.limit)) * 100)}% used)`}`,
        },
        { type: 'mrkdwn' as const, text: `*Model calls*\n${u.requests}` },
        {
          type: 'mrkdwn' as const,
          text: `*AI*\n${input.tenant.aiProvider ? escapeMrkdwn(input.tenant.aiProvider) : 'not configured — commands still work'}`,
        },
      ]
    : [];
  return {
    type: 'home',
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `RenderBot · ${input.tenant.name}`.slice(0, 150) } },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `This workspace is linked to *${escapeMrkdwn(input.tenant.name)}* (\`${escapeMrkdwn(input.tenant.slug)}\`). Ask me in plain words, e.g. _Render all Kugellager products as WebP at 1024x1024_.`,
        },
      },
      ...(fields.length ? [{ type: 'section' as const, fields }] : []),
      { type: 'divider' },
      help,
    ],
  };
}

/** Publishes the Home tab whenever someone opens it. */
export function registerHomeListener(app: BoltApp, deps: ListenerDeps): void {
  app.event('app_home_opened', async ({ event, body, context, client }) => {
    if (event.tab !== 'home') return deps.log.debug({ eventId: body.event_id, outcome: 'ignored' }, 'slack event done');
    const teamId = body.team_id ?? context.teamId;
    const tenant = teamId
      ? await deps.intake.tenantOf('slack', slackWorkspace(teamId, context.enterpriseId), { fresh: true })
      : undefined;
    const overview = tenant ? await deps.intake.overview(tenant.id) : undefined;
    await client.views.publish({ user_id: event.user, view: homeView(overview ?? {}) });
    deps.log.debug({ eventId: body.event_id, outcome: 'home_published' }, 'slack event done');
  });
}
