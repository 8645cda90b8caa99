/** This package's version: genmodels loads the addon only when it equals its own. */
export declare const version: string;
/** Where the install script puts the addon (present only when the build succeeded). */
export declare const addonPath: string;
export interface BuildStatus {
  ok: boolean;
  addon?: string;
  libtorch?: string;
  /** why the addon was not built (one line) */
  reason?: string;
  /** the command that builds it */
  fix?: string;
  node: string;
  seconds: number;
  date: string;
}
/** What the install script reported, or null before it ran. */
export declare function buildStatus(): BuildStatus | null;
