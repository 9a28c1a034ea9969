import { startFakeLlm, type FakeLlm, type FakeLlmRequest } from '../../test/fakes/llm-server.ts';

/** Tags the benchmarks put into message texts, so replies can be matched to requests. */
export const TAG = /\btag[A-Z]\d{6}z\b/;
export const tagOf = (text: string): string | undefined => TAG.exec(text)?.[0];
export const makeTag = (phase: string, i: number) => `tag${phase}${String(i).padStart(6, '0')}z`;

/**
 * The scripted OpenAI-compatible fake (test/fakes/llm-server.ts), answering instantly with
 * `ok <tag>` (the tag of the last user message). Each request consumes one scripted step, so
 * `steps` are queued up front.
 */
export async function startInstantLlm(steps: number): Promise<FakeLlm> {
  const llm = await startFakeLlm({ provider: 'openai' });
  const answer = (req: FakeLlmRequest) => {
    const user = [...req.body.messages].reverse().find((m) => m.role === 'user');
    return { content: `ok ${tagOf(String(user?.content ?? '')) ?? 'untagged'}` };
  };
  for (let i = 0; i < steps; i++) llm.enqueue(answer);
  return llm;
}

/**
 * The scripted OpenAI-compatible fake answering every request with `ok <tag>` after `delayMs`, as
 * a hosted model that thinks for a while. `steps` are queued up front (one per request).
 */
export async function startSlowLlm(steps: number, delayMs: number): Promise<FakeLlm> {
  const llm = await startFakeLlm({ provider: 'openai' });
  const answer = (req: FakeLlmRequest) => {
    const user = [...req.body.messages].reverse().find((m) => m.role === 'user');
    return { content: `ok ${tagOf(String(user?.content ?? '')) ?? 'untagged'}`, delayMs };
  };
  for (let i = 0; i < steps; i++) llm.enqueue(answer);
  return llm;
}
