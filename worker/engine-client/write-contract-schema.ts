// Regenerates worker/engine/cogcast_engine/contract.schema.json from the zod contract (run after changing it).
import { writeFileSync } from 'node:fs';
import { CONTRACT_SCHEMA_PATH, engineContractText } from './engine-contract-schema.ts';

writeFileSync(CONTRACT_SCHEMA_PATH, engineContractText());
process.stdout.write(`wrote ${CONTRACT_SCHEMA_PATH}\n`);
