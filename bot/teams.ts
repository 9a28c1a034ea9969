import type { App } from './app.ts';
import type { Channel } from './channels.ts';

/** The Teams channel, or undefined when Teams is not enabled. (Being built: see the Teams issue.) */
export async function createTeamsChannel(_app: App): Promise<Channel | undefined> {
  return undefined;
}
