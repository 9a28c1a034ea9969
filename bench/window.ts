import { appendMessage } from '../core/history/messages.ts';
import { estimateTokens } from '../core/llm/tokens.ts';
import { buildWindow } from '../core/agent/window.ts';
import { systemPrompt } from '../core/agent/prompt.ts';
import type { Orm } from '../core/db/orm.ts';
import { idRow, row } from '../core/db/sql.ts';
import { searchProductsTool } from '../core/tools/search_products.ts';
import { createLogger } from '../core/logger.ts';

/**
 * Plays a scripted 60-turn conversation (question, a search_products call with its real
 * result, an answer) and sums the prompt tokens each turn would send: the windowed history
 * versus the last 50 messages verbatim.
 */
export async function benchWindow(
  orm: Orm,
  tenantId: string,
  turns = 60,
): Promise<{ windowed: number; naive: number }> {
  const em = orm.em.fork();
  const session = (await row(
    em,
    idRow,
    `insert into chat_session (tenant_id, platform, key) values (?, 'cli', 'bench-window:' || gen_random_uuid()) returning id`,
    [tenantId],
  ))!;
  const turn = {
    tenantId,
    userId: 'bench',
    role: 'operator' as const,
    sessionId: session.id,
    platform: 'cli' as const,
  };
  const words = [
    'kugellager',
    'dichtring',
    'welle',
    'kupplung',
    'zahnrad',
    'rollenlager',
    'führung',
    '6204',
    'M8',
    'NBR',
  ];
  const log = createLogger('silent');
  let windowed = 0;
  let naive = 0;
  const all: { role: string; content: string }[] = [];
  for (let t = 0; t < turns; t++) {
    const base = { tenantId, sessionId: session.id };
    const question = `Turn ${t}: show me ${words[t % words.length]} products and tell me which ones still need renders.`;
    await appendMessage(em, { ...base, role: 'user', content: question });
    all.push({ role: 'user', content: question });
    const system = systemPrompt({ turn, now: new Date() });
    const w = await buildWindow(em, session.id);
    windowed += estimateTokens(systemPrompt({ turn, now: new Date() })) + w.tokens;
    naive += estimateTokens(system) + all.slice(-50).reduce((n, m) => n + estimateTokens(JSON.stringify(m)) + 4, 0);

    const args = { query: words[t % words.length], limit: 25 };
    const call = { id: `call_${t}`, name: 'search_products', arguments: JSON.stringify(args) };
    const result = JSON.stringify(
      (
        await searchProductsTool.run(
          { turn, em, log, now: () => new Date() },
          searchProductsTool.parameters.parse(args),
        )
      ).data,
    );
    const answer = `Found several ${words[t % words.length]} products; ${t % 7} of them have no finished render yet. Shall I create an order?`;
    await appendMessage(em, { ...base, role: 'assistant', content: '', toolCalls: [call] });
    await appendMessage(em, { ...base, role: 'tool', toolCallId: call.id, toolName: call.name, content: result });
    await appendMessage(em, { ...base, role: 'assistant', content: answer });
    all.push(
      { role: 'assistant', content: JSON.stringify([call]) },
      { role: 'tool', content: result },
      { role: 'assistant', content: answer },
    );
  }
  return { windowed, naive };
}
