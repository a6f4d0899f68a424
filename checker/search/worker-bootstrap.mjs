// Worker threads cannot load .ts through `--import tsx` on Node 20: register tsx's loader here, then import
// the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./worker.ts', import.meta.url).href);
