// The built-in commands by name, for tests and scripts; platforms route from the registry (src/core/command-registry.ts), which loads this folder.
import cancel from './cancel.ts';
import gpuStatus from './gpu-status.ts';
import help from './help.ts';
import reroll from './reroll.ts';
import settings from './settings.ts';
import video from './video.ts';

export const commands = { video, cancel, reroll, gpuStatus, help, settings } as const;
export type { VideoInput } from './video.ts';
export { checkVideoInput } from './video.ts';
export type { CancelInput } from './cancel.ts';
export type { RerollInput } from './reroll.ts';
