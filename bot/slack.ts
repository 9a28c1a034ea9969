import type { App } from './app.ts';
import type { Channel } from './channels.ts';

/** The Slack channel, or undefined when Slack is not configured. (Being built: see the Slack issue.) */
export async function createSlackChannel(_app: App): Promise<Channel | undefined> {
  return undefined;
}
