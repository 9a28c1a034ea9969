import { Migration20261125000000_initial } from './Migration20261125000000_initial.ts';
import { Migration20261125000100_lock_set_config } from './Migration20261125000100_lock_set_config.ts';
import { Migration20261125000200_slack_installations } from './Migration20261125000200_slack_installations.ts';
import { Migration20261125000300_decider_name } from './Migration20261125000300_decider_name.ts';
import { Migration20261125000400_web } from './Migration20261125000400_web.ts';
import { Migration20261125000500_stats_index } from './Migration20261125000500_stats_index.ts';
import { Migration20261125000600_renderers } from './Migration20261125000600_renderers.ts';
import { Migration20261125000700_search_gist } from './Migration20261125000700_search_gist.ts';
import { Migration20261125000800_queue_workers } from './Migration20261125000800_queue_workers.ts';
import { Migration20261125000900_farm_contact } from './Migration20261125000900_farm_contact.ts';
import { Migration20261125001000_order_notices } from './Migration20261125001000_order_notices.ts';
import { Migration20261125001100_turn_inbox } from './Migration20261125001100_turn_inbox.ts';
import { Migration20261125001200_turn_leases } from './Migration20261125001200_turn_leases.ts';
import { Migration20261125001300_rate_limits } from './Migration20261125001300_rate_limits.ts';
import { Migration20261125001400_renderer_private_network } from './Migration20261125001400_renderer_private_network.ts';
import { Migration20261125001500_product_selections } from './Migration20261125001500_product_selections.ts';
import { Migration20261125001600_big_order_indexes } from './Migration20261125001600_big_order_indexes.ts';
import { Migration20261125001700_turn_started_by } from './Migration20261125001700_turn_started_by.ts';
import { Migration20261125001800_notice_claims } from './Migration20261125001800_notice_claims.ts';
import { Migration20261125001900_selection_steps } from './Migration20261125001900_selection_steps.ts';
import { Migration20261125002000_role_source } from './Migration20261125002000_role_source.ts';
import { Migration20261206000100_stored_requests } from './Migration20261206000100_stored_requests.ts';

/** Every migration in order; passed to MikroORM as `migrationsList` so no directory scanning is needed. */
export const migrationsList = [
  { name: 'Migration20261125000000_initial', class: Migration20261125000000_initial },
  { name: 'Migration20261125000100_lock_set_config', class: Migration20261125000100_lock_set_config },
  { name: 'Migration20261125000200_slack_installations', class: Migration20261125000200_slack_installations },
  { name: 'Migration20261125000300_decider_name', class: Migration20261125000300_decider_name },
  { name: 'Migration20261125000400_web', class: Migration20261125000400_web },
  { name: 'Migration20261125000500_stats_index', class: Migration20261125000500_stats_index },
  { name: 'Migration20261125000600_renderers', class: Migration20261125000600_renderers },
  { name: 'Migration20261125000700_search_gist', class: Migration20261125000700_search_gist },
  { name: 'Migration20261125000800_queue_workers', class: Migration20261125000800_queue_workers },
  { name: 'Migration20261125000900_farm_contact', class: Migration20261125000900_farm_contact },
  { name: 'Migration20261125001000_order_notices', class: Migration20261125001000_order_notices },
  { name: 'Migration20261125001100_turn_inbox', class: Migration20261125001100_turn_inbox },
  { name: 'Migration20261125001200_turn_leases', class: Migration20261125001200_turn_leases },
  { name: 'Migration20261125001300_rate_limits', class: Migration20261125001300_rate_limits },
  { name: 'Migration20261125001400_renderer_private_network', class: Migration20261125001400_renderer_private_network },
  { name: 'Migration20261125001500_product_selections', class: Migration20261125001500_product_selections },
  { name: 'Migration20261125001600_big_order_indexes', class: Migration20261125001600_big_order_indexes },
  { name: 'Migration20261125001700_turn_started_by', class: Migration20261125001700_turn_started_by },
  { name: 'Migration20261125001800_notice_claims', class: Migration20261125001800_notice_claims },
  { name: 'Migration20261125001900_selection_steps', class: Migration20261125001900_selection_steps },
  { name: 'Migration20261125002000_role_source', class: Migration20261125002000_role_source },
  { name: 'Migration20261206000100_stored_requests', class: Migration20261206000100_stored_requests },
];
