import { Migration } from '@mikro-orm/migrations';

/**
 * Exact render statistics at millions of jobs: `render_job_tally` holds deltas of job counts by
 * tenant, status and UTC finishing day (with the render seconds of completed jobs), written by
 * statement-level triggers on `render_job` in the same statement as the jobs themselves, so it
 * is exact whoever writes jobs. Writers only ever insert (no row is contended); a cron task folds
 * the deltas into one row per key (core/pipeline/tally.ts). Existing jobs are counted here.
 */
export class Migration20261206000400_render_job_tally extends Migration {
  override name = 'Migration20261206000400_render_job_tally';

  override async up(): Promise<void> {
    this.addSql(`create table render_job_tally (
      id bigserial primary key,
      tenant_id uuid not null references tenant(id) on delete cascade,
      status text not null,
      finished_day date,
      jobs bigint not null,
      render_seconds float8 not null default 0,
      timed bigint not null default 0
    )`);
    this.addSql(`create index render_job_tally_tenant_idx on render_job_tally (tenant_id, finished_day)`);
    this.addSql(`create function render_job_tally() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          insert into render_job_tally (tenant_id, status, finished_day, jobs, render_seconds, timed)
          select n.tenant_id, n.status, (n.finished_at at time zone 'UTC')::date, count(*),
                 coalesce(sum(extract(epoch from n.finished_at - n.started_at)) filter (where n.status = 'completed' and n.started_at is not null and n.finished_at is not null), 0),
                 count(*) filter (where n.status = 'completed' and n.started_at is not null and n.finished_at is not null)
          from new_jobs n group by 1, 2, 3;
        elsif tg_op = 'DELETE' then
          insert into render_job_tally (tenant_id, status, finished_day, jobs, render_seconds, timed)
          select o.tenant_id, o.status, (o.finished_at at time zone 'UTC')::date, -count(*),
                 -coalesce(sum(extract(epoch from o.finished_at - o.started_at)) filter (where o.status = 'completed' and o.started_at is not null and o.finished_at is not null), 0),
                 -count(*) filter (where o.status = 'completed' and o.started_at is not null and o.finished_at is not null)
          from old_jobs o group by 1, 2, 3;
        else
          -- Only rows whose counted fields changed (an attempt counter or a farm contact changes nothing here).
          insert into render_job_tally (tenant_id, status, finished_day, jobs, render_seconds, timed)
          select t.tenant_id, t.status, t.day, sum(t.sign),
                 coalesce(sum(t.sign * t.seconds) filter (where t.timed), 0), coalesce(sum(t.sign) filter (where t.timed), 0)
          from (
            select o.tenant_id, o.status, (o.finished_at at time zone 'UTC')::date as day, -1 as sign,
                   extract(epoch from o.finished_at - o.started_at) as seconds,
                   (o.status = 'completed' and o.started_at is not null and o.finished_at is not null) as timed
            from old_jobs o join new_jobs n on n.id = o.id
            where (o.tenant_id, o.status, o.started_at, o.finished_at) is distinct from (n.tenant_id, n.status, n.started_at, n.finished_at)
            union all
            select n.tenant_id, n.status, (n.finished_at at time zone 'UTC')::date, 1,
                   extract(epoch from n.finished_at - n.started_at),
                   (n.status = 'completed' and n.started_at is not null and n.finished_at is not null)
            from old_jobs o join new_jobs n on n.id = o.id
            where (o.tenant_id, o.status, o.started_at, o.finished_at) is distinct from (n.tenant_id, n.status, n.started_at, n.finished_at)
          ) t group by 1, 2, 3;
        end if;
        return null;
      end $$`);
    this.addSql(
      `create trigger render_job_tally_insert after insert on render_job referencing new table as new_jobs for each statement execute function render_job_tally()`,
    );
    this.addSql(
      `create trigger render_job_tally_update after update on render_job referencing old table as old_jobs new table as new_jobs for each statement execute function render_job_tally()`,
    );
    this.addSql(
      `create trigger render_job_tally_delete after delete on render_job referencing old table as old_jobs for each statement execute function render_job_tally()`,
    );
    this.addSql(`insert into render_job_tally (tenant_id, status, finished_day, jobs, render_seconds, timed)
      select tenant_id, status, (finished_at at time zone 'UTC')::date, count(*),
             coalesce(sum(extract(epoch from finished_at - started_at)) filter (where status = 'completed' and started_at is not null and finished_at is not null), 0),
             count(*) filter (where status = 'completed' and started_at is not null and finished_at is not null)
      from render_job group by 1, 2, 3`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger render_job_tally_insert on render_job`);
    this.addSql(`drop trigger render_job_tally_update on render_job`);
    this.addSql(`drop trigger render_job_tally_delete on render_job`);
    this.addSql(`drop function render_job_tally()`);
    this.addSql(`drop table render_job_tally`);
  }
}
