// Prints README's configuration table from config/env.ts (`npx tsx scripts/env-table.ts`).
import { ENV_REGISTRY } from '../config/env.ts';

const rows = Object.entries(ENV_REGISTRY).map(([name, spec]) => `| \`${name}\` | ${spec.default === '' ? '(empty)' : `\`${spec.default}\``} | ${spec.doc} |`);
process.stdout.write(['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n') + '\n');
