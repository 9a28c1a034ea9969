/** The fake Slack workspace every Slack benchmark signs requests for and links its bench tenant to. */
export const SIGNING_SECRET = 'bench-signing-secret-0123456789ab';
export const TEAM = {
  token: 'xoxb-bench-0001-fake',
  teamId: 'T0BENCH001',
  teamName: 'Bench GmbH',
  botUserId: 'U0BOTBENCH',
  botId: 'B0BOTBENCH',
};
