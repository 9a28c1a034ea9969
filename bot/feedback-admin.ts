import { Command } from 'commander';
import { listFeedback, type FeedbackRow } from '../core/history/feedback.ts';
import { sinceDate } from '../core/history/since.ts';
import { ellipsize, oneLine } from '../core/replies/format.ts';
import { getTenantBySlug } from '../core/tenancy/tenants.ts';
import type { WithApp } from './app.ts';
import { withoutControlCharacters } from '../core/control-characters.ts';

const print = (line: string) => process.stdout.write(`${line}\n`);

/** Tenant-written text for a terminal: one line, control characters (escape sequences) dropped, cut. */
const shown = (text: string, max: number) => ellipsize(oneLine(withoutControlCharacters(text, ' ')).trim(), max);

/** One feedback entry as a few readable lines. */
function formatFeedback(f: FeedbackRow): string[] {
  const when = f.updated_at.toISOString().slice(0, 16).replace('T', ' ');
  const latency = f.latency_ms === null ? '' : `  ${(f.latency_ms / 1000).toFixed(1)} s`;
  return [
    `${when}  ${f.rating === 'up' ? '👍' : '👎'}  ${f.platform} ${shown(f.user_id, 60)}  model ${f.model ?? '?'}  tools ${f.tools.length ? f.tools.join(', ') : 'none'}  ${f.prompt_tokens}+${f.completion_tokens} tokens${latency}`,
    `  asked:  ${f.request === null ? '(a follow-up)' : shown(f.request, 200)}`,
    `  answer: ${shown(f.answer, 200)}`,
    ...(f.reason ? [`  reason: ${shown(f.reason, 500)}`] : []),
    `  answer id ${f.answer_id}, session ${f.session_id}`,
  ];
}

/** `renderbot admin feedback --tenant <slug> [--since 7d] [--negative]`: what people said about the agent's answers, newest first. */
export function feedbackCommand(withApp: WithApp): Command {
  return new Command('feedback')
    .description("list people's 👍/👎 on agent answers, newest first")
    .requiredOption('--tenant <slug>')
    .option('--since <span>', 'how far back: 7d, 36h, 2w or a date like 2026-12-01', '7d')
    .option('--negative', 'only 👎')
    .action((o: { tenant: string; since: string; negative?: boolean }) =>
      withApp(async (app, em) => {
        const t = await getTenantBySlug(em, o.tenant);
        const since = sinceDate(o.since, app.now());
        const rows = await listFeedback(em, t.id, { since, negative: o.negative === true });
        if (rows.length === 0) {
          print(
            `No ${o.negative ? 'negative ' : ''}feedback for ${t.slug} since ${since.toISOString().slice(0, 16).replace('T', ' ')}.`,
          );
          return;
        }
        print(
          `${rows.length} ${o.negative ? 'negative ' : ''}feedback entr${rows.length === 1 ? 'y' : 'ies'} for ${t.slug} since ${since.toISOString().slice(0, 16).replace('T', ' ')}:`,
        );
        for (const f of rows) for (const line of formatFeedback(f)) print(line);
      }),
    );
}
