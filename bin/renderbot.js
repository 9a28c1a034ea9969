#!/usr/bin/env node
// Runs the TypeScript CLI with Node's built-in type stripping (Node >= 22.18 / 23.6).
const { main } = await import('../bot/cli.ts');
const { exitWhenIdle } = await import('../bot/exit-when-idle.ts');
await main(process.argv);
exitWhenIdle();
