// The platform-neutral view of one chat command: who asked, how to answer, where results go.

export type Platform = 'discord' | 'telegram' | 'cli' | 'web';

export interface ChatUser {
  /** Platform-local id; `${platform}:${id}` is unique across platforms. */
  id: string;
  name: string;
  platform: Platform;
  /** Decided by the adapter from its allow-lists; commands only read it. */
  isAdmin: boolean;
}

/** Where the worker posts progress and the video: plain data each platform's delivery parses itself. */
export interface DeliveryTarget {
  platform: Platform;
  target: Record<string, unknown>;
}

export interface ReplyButton {
  /** e.g. `cancel:<jobId>`; adapters route presses back to commands. */
  action: 'cancel' | 'reroll';
  jobId: string;
  label: string;
}

export interface Reply {
  kind: 'accepted' | 'info' | 'error';
  text: string;
  /** Only the requester sees it, where the platform can do that (Discord ephemeral replies). */
  private?: boolean;
  buttons?: ReplyButton[];
}

export interface ChatContext {
  user: ChatUser;
  /** Answers the command (the first call) or replaces the answer (later calls). */
  reply(reply: Reply): Promise<void>;
  /** Called once a request is valid: the adapter returns where the worker should deliver. */
  deliveryTarget(): Promise<DeliveryTarget>;
}
