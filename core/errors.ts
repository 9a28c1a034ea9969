/** Who is at fault for an error; decides how it is shown (docs/style.md §5). */
export type Fault = 'user' | 'model' | 'config' | 'platform' | 'scope' | 'internal';

/** Base error: a stable string code plus a message that tells the reader what to do. */
export class RenderBotError extends Error {
  readonly code: string;
  readonly fault: Fault;
  constructor(code: string, message: string, fault: Fault = 'internal', options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.fault = fault;
  }
}

/** Bad input from a person: unknown order number, malformed flag, invalid CSV row. */
export class UserInputError extends RenderBotError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, 'user', options);
  }
}

/** The model produced something unusable: invalid arguments, unknown tool, rejected SQL. */
export class ModelBehaviourError extends RenderBotError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, 'model', options);
  }
}

/** Missing or invalid configuration (environment, tenant AI settings). */
export class ConfigError extends RenderBotError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, 'config', options);
  }
}

/** An outside service failed: LLM endpoint, Slack, Bot Connector. */
export class PlatformError extends RenderBotError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, 'platform', options);
  }
}

/** A safe, short message for people and models; internal errors never leak details. */
export function publicMessage(err: unknown): string {
  if (err instanceof RenderBotError && err.fault !== 'internal') return err.message;
  return 'Something went wrong on our side. The error was logged; please try again.';
}
