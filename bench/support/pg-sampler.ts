import pg from 'pg';

/** What the database's sessions were doing while sampled: share of busy samples per state and statement. */
export type ActivitySample = { share: number; state: string; statement: string }[];

/**
 * Samples pg_stat_activity of the database at `url` every `intervalMs` until `stop()`: for each
 * session that is not idle, its wait (e.g. `Lock:tuple`) or state and the start of its statement.
 * A poor man's profiler for where the server spends the queue's time (lock waits, commits).
 */
export async function sampleActivity(url: string, intervalMs = 20): Promise<{ stop(): Promise<ActivitySample> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const counts = new Map<string, number>();
  let total = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query<{ what: string; statement: string }>(
        `select coalesce(wait_event_type || ':' || wait_event, state) as what, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) as statement
         from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'`,
      );
      for (const r of rows) {
        const key = `${r.what}\t${r.statement}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        total++;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await client.end();
      return [...counts]
        .sort((a, b) => b[1] - a[1])
        .map(([key, n]) => {
          const [state, statement] = key.split('\t') as [string, string];
          return { share: n / Math.max(1, total), state, statement };
        });
    },
  };
}
