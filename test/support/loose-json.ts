/**
 * A platform payload as a test or a fake reads it: arbitrary JSON walked by property name, the way
 * the platforms' own validators walk it. The one `any` of the repository (docs/style.md §10).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fakes and tests walk arbitrary platform JSON
export type LooseJson = Record<string, any>;
