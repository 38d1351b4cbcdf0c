// Every user-facing command, by name: adapters look commands up here and never import one directly.
import cancel from './cancel.ts';
import gpuStatus from './gpu-status.ts';
import reroll from './reroll.ts';
import video from './video.ts';

export const commands = { video, cancel, reroll, gpuStatus } as const;
export type { VideoInput } from './video.ts';
export { checkVideoInput } from './video.ts';
export type { CancelInput } from './cancel.ts';
export type { RerollInput } from './reroll.ts';
