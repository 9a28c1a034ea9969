import type { AiMessageEntity, FeedbackLoop } from './answer.ts';

/**
 * The parts of a Bot Framework activity RenderBot reads (Teams flavour), as plain JSON. Kept
 * independent of botbuilder's types so the SDK stays behind transport.ts (docs/design.md §10).
 */
type TeamsAccount = { id: string; name?: string; aadObjectId?: string; role?: string; userRole?: string };

export type TeamsActivity = {
  type: string;
  id?: string;
  name?: string;
  text?: string;
  textFormat?: string;
  timestamp?: string;
  serviceUrl: string;
  channelId: string;
  from: TeamsAccount;
  recipient: TeamsAccount;
  conversation: { id: string; conversationType?: string; tenantId?: string; isGroup?: boolean; name?: string };
  replyToId?: string;
  entities?: { type: string; mentioned?: { id: string; name?: string }; text?: string }[];
  channelData?: {
    tenant?: { id?: string };
    team?: { id?: string; name?: string };
    channel?: { id?: string };
    eventType?: string;
  };
  membersAdded?: TeamsAccount[];
  value?: unknown;
  /** Files and cards sent with a message (teams/files.ts reads file download info from them). */
  attachments?: { contentType: string; contentUrl?: string; name?: string; content?: unknown }[];
};

/** An outgoing message activity: text and/or Adaptive Card attachments. */
export type OutgoingMessage = {
  type: 'message';
  text?: string;
  textFormat?: 'plain' | 'markdown';
  summary?: string;
  attachments?: { contentType: string; content: unknown; name?: string; contentUrl?: string }[];
  entities?: (StreamInfo | AiMessageEntity)[];
  channelData?: Partial<StreamChannelData> & Partial<FeedbackLoop>;
  /** Buttons above the compose box (personal chats); a click sends its value as the person's message. */
  suggestedActions?: { actions: { type: 'imBack'; title: string; value: string }[] };
};

/** Teams streaming (personal chats): typing activities carry the text so far, the final message closes the stream. */
export type StreamInfo = {
  type: 'streaminfo';
  streamType: 'informative' | 'streaming' | 'final';
  streamSequence?: number;
  streamId?: string;
};

/** The same stream info in channelData, which botbuilder's serializer passes on whole (it strips unknown entity fields). */
export type StreamChannelData = Omit<StreamInfo, 'type'>;

/** One chunk of a streamed reply: the whole text so far. */
export type StreamChunk = { type: 'typing'; text: string; entities: StreamInfo[]; channelData: StreamChannelData };

/** A message's or chunk's stream info, as entity and as channelData. */
export function streamInfo(info: StreamChannelData): { entities: StreamInfo[]; channelData: StreamChannelData } {
  return { entities: [{ type: 'streaminfo', ...info }], channelData: info };
}

/** The AAD (Entra) tenant of an activity, lower-cased like `admin link teams` stores it. */
export function aadTenantOf(a: TeamsActivity): string | undefined {
  return (a.channelData?.tenant?.id ?? a.conversation.tenantId)?.toLowerCase();
}

/** The stable person id: the Entra object id, else the channel account id (anonymous users, Emulator). */
export function userIdOf(a: TeamsActivity): string {
  return a.from.aadObjectId?.toLowerCase() ?? a.from.id;
}

/**
 * Session key (docs/design.md §3): `aadTenant:conversation.id`. A channel conversation id carries
 * `;messageid=<root>`, so one channel thread — and one 1:1 or group chat — is one session.
 */
export function sessionKeyOf(aadTenant: string, a: TeamsActivity): string {
  return `${aadTenant}:${a.conversation.id}`;
}

/**
 * Teams message ids are only unique within a conversation, so the dedupe key for a redelivered
 * activity includes the conversation.
 */
export function eventIdOf(aadTenant: string, a: TeamsActivity): string | undefined {
  // A suggestion clicked on a card: one message per card, suggestion and person, however often it is clicked.
  const suggestion = (a.value as Record<string, unknown> | undefined)?.[SUGGESTION_DATA_KEY];
  if (typeof suggestion === 'number' && a.replyToId)
    return `${aadTenant}:${a.conversation.id}:suggest:${a.replyToId}:${suggestion}:${userIdOf(a)}`;
  return a.id ? `${aadTenant}:${a.conversation.id}:${a.id}` : undefined;
}

/** The key of a suggestion button's data (Action.Submit): its index, sent back as the message activity's `value`. */
export const SUGGESTION_DATA_KEY = 'renderbotSuggestion';

/**
 * Guests and anonymous meeting participants are viewers (docs/design.md §2). `memberRole` is Teams'
 * `userRole` from the member roster (TeamsInfo), when it could be fetched.
 */
export function isGuest(a: TeamsActivity, memberRole?: string): boolean {
  const role = (memberRole ?? a.from.userRole ?? '').toLowerCase();
  if (role === 'guest' || role === 'anonymous') return true;
  return !a.from.aadObjectId;
}

/** Whether the bot itself is among `membersAdded` of a conversationUpdate. */
export function botWasAdded(a: TeamsActivity): boolean {
  return a.type === 'conversationUpdate' && (a.membersAdded ?? []).some((m) => m.id === a.recipient.id);
}

/** Plain text of a message after the bot mention was removed: `<at>` leftovers, `&nbsp;`, whitespace. */
export function cleanText(text: string): string {
  return text
    .replace(/<at>[^<]*<\/at>/gi, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** An `adaptiveCard/action` invoke's verb and data, when well-formed. */
export function cardActionOf(a: TeamsActivity): { verb: string; data: Record<string, unknown> } | undefined {
  if (a.type !== 'invoke' || a.name !== 'adaptiveCard/action') return undefined;
  const action = (a.value as { action?: { type?: string; verb?: unknown; data?: unknown } } | undefined)?.action;
  if (!action || typeof action.verb !== 'string') return undefined;
  const data =
    action.data && typeof action.data === 'object' && !Array.isArray(action.data)
      ? (action.data as Record<string, unknown>)
      : {};
  return { verb: action.verb, data };
}
