/**
 * Lets files be processed side by side, or one alone: a file that was under way when a process
 * died is taken up again with nothing else running, so that a second death tells which file it was
 * (and a node killed from outside does not blame every file it happened to hold).
 */
export class SoloGate {
  private shared = 0;
  /** resolves when the file running alone (if any) is done */
  private alone?: Promise<void>;
  private drained: (() => void)[] = [];

  /** Runs `work` beside other files (it waits while a file runs alone). */
  async beside<T>(work: () => Promise<T>): Promise<T> {
    while (this.alone) await this.alone;
    this.shared++;
    try {
      return await work();
    } finally {
      if (--this.shared === 0) for (const wake of this.drained.splice(0)) wake();
    }
  }

  /** Runs `work` with no other file under way: the files running finish first, new ones wait. */
  async solo<T>(work: () => Promise<T>): Promise<T> {
    while (this.alone) await this.alone;
    let done!: () => void;
    this.alone = new Promise((resolve) => (done = resolve));
    try {
      if (this.shared > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
      return await work();
    } finally {
      this.alone = undefined;
      done();
    }
  }
}
