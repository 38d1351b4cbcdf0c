// The platform-neutral view of one chat command: who asked, how to answer, where results go.

export type Platform = 'discord' | 'telegram' | 'cli' | 'web';

export interface ChatUser {
  /** Platform-local id; `${platform}:${id}` is unique across platforms. */
  id: string;
  name: string;
  platform: Platform;
  /** Decided by the adapter from its allow-lists; commands only read it. */
  isAdmin: boolean;
  /** In the priority tier by a platform role (Discord DISCORD_PRIORITY_ROLE_IDS); PRIORITY_IDS is checked by the command. */
  isPriority?: boolean;
}

/** Where the worker posts progress and the video: plain data each platform's delivery parses itself. */
export interface DeliveryTarget {
  platform: Platform;
  target: Record<string, unknown>;
}

export interface ReplyButton {
  /** The command a press runs (`cancel`, `reroll`, ...), with `{ jobId }` as its input; see src/core/buttons.ts. */
  action: string;
  jobId: string;
  label: string;
}

/** A button that runs `action` with one option set to `value` (a /settings keyboard); see src/core/buttons.ts. */
export interface ReplyChoice {
  action: string;
  field: string;
  value: string;
  label: string;
  /** The value in force now (Discord preselects it; Telegram marks it). */
  selected?: boolean;
}

/** A piece of a rich line: plain text, or text each platform shows in its own bold / code markup. */
export type Span = string | { bold: string } | { code: string };

export interface Reply {
  kind: 'accepted' | 'info' | 'error';
  /** The plain text; platforms escape it for their markup. */
  text: string;
  /** The same content with emphasis, for platforms with markup (help); `text` stays its plain form. */
  rich?: Span[][];
  /** Only the requester sees it, where the platform can do that (Discord ephemeral replies, Telegram private chat). */
  private?: boolean;
  /** Must not be seen by others (admin answers): where a platform has no private reply in a group (Telegram), it goes to the user's private chat or is withheld. */
  confidential?: boolean;
  buttons?: ReplyButton[];
  /** Rows of choice buttons, below the buttons (platforms show them as keyboards / button rows). */
  choices?: ReplyChoice[][];
  /** For an accepted reply: the job it queued (the CLI waits for it). */
  jobId?: string;
  /** Jobs removed from the queue before any worker took them: no worker will mark their status messages. */
  removedJobs?: { jobId: string; delivery: DeliveryTarget }[];
}

export interface ChatContext {
  user: ChatUser;
  /** Answers the command (the first call) or replaces the answer (later calls). */
  reply(reply: Reply): Promise<void>;
  /** Called once a request is valid: the adapter returns where the worker should deliver. */
  deliveryTarget(): Promise<DeliveryTarget>;
  /** True when `target` (an earlier job's delivery) is in the chat this command came from. */
  sameChat?(target: DeliveryTarget): boolean;
  /** The bot's own handle on this platform (Telegram `@name`), for texts that show how to address it. */
  botUsername?: string;
  /**
   * The language to answer in (src/core/locale.ts): the platform's (Telegram `from.language_code`, Discord
   * `interaction.locale`), replaced by the user's /settings language once the dispatcher read it. English when unset.
   */
  locale?: string;
}
