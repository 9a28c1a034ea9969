/**
 * Token estimate used for budgeting the prompt window: about four characters a token for
 * mixed German/English text and JSON, plus a small per-message overhead. The model's own
 * counts (from the API's usage) are what gets billed and recorded.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export const MESSAGE_OVERHEAD_TOKENS = 4;
