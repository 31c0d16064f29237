// Every refusal, to machines and to the console: a 4xx (or a 500) with a sentence that says what
// was wrong (plugins/errors.ts).
import { Type, type Static } from 'typebox';

export const Failure = Type.Object({ error: Type.String() });
export type Failure = Static<typeof Failure>;
