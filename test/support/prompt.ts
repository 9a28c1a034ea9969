import { SUBJECT_LABEL, NOTE_LABEL, SUMMARY_LABEL, WORKSPACE_LABEL } from '../../core/agent/data-messages.ts';
import type { FakeLlmRequest } from '../fakes/llm-server.ts';

/** The system-role messages of a recorded model request, joined: only RenderBot's own text may be in them. */
export function systemText(req: FakeLlmRequest): string {
  return req.body.messages
    .filter((m) => m.role === 'system')
    .map((m) => String(m.content))
    .join('\n');
}

/** The user-role data messages of a recorded model request that start with `label` (data-messages.ts), oldest first. */
export function dataMessages(req: FakeLlmRequest, label: string): string[] {
  return req.body.messages
    .filter((m) => m.role === 'user' && String(m.content).startsWith(label))
    .map((m) => String(m.content));
}

/** The newest history note (e.g. a confirmed action's results) a recorded model request quoted, or '' when it had none. */
export function lastNote(req: FakeLlmRequest): string {
  return dataMessages(req, NOTE_LABEL).at(-1) ?? '';
}

const labels = [WORKSPACE_LABEL, SUMMARY_LABEL, SUBJECT_LABEL, NOTE_LABEL];

/** What people and the model said in a recorded model request: its user and assistant texts, without the data messages. */
export function saidIn(req: FakeLlmRequest): string[] {
  return req.body.messages
    .filter(
      (m) => (m.role === 'user' && !labels.some((l) => String(m.content).startsWith(l))) || m.role === 'assistant',
    )
    .map((m) => String(m.content));
}
