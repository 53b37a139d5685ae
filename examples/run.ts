#!/usr/bin/env node
/** `npm run example <name>`: start examples/<name>/run.ts (its upstream simulator and cistern). */
const examples: Record<string, () => Promise<{ main(): Promise<unknown> }>> = {
  trigpointing: () => import('./trigpointing/run.js'),
  'guild-api': () => import('./guild-api/run.js'),
  'clash-of-clans': () => import('./clash-of-clans/run.js'),
}

const name = process.argv[2] ?? ''
const load = Object.hasOwn(examples, name) ? examples[name] : undefined
if (!load) {
  console.error(`usage: npm run example <name>; examples: ${Object.keys(examples).join(', ')}`)
  process.exit(2)
}
await (await load()).main()
