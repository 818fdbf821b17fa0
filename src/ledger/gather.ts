/** How a group that failed is retried: each input alone, when the failure may be one input's doing. */
export interface AloneAfterFailure<In, Out> {
  run(input: In): Promise<Out>;
  /** whether this failure of the group is worth trying each input alone (otherwise every caller gets it) */
  when(err: unknown): boolean;
}

/**
 * Calls that arrive while one is under way are gathered and run together after it, at most `max` at
 * a time (the pattern of group commit): one round trip for several callers, and a caller alone is
 * never kept waiting for company.
 */
export class Gatherer<In, Out> {
  private readonly queue: { input: In; resolve: (out: Out) => void; reject: (err: unknown) => void }[] = [];
  private running = false;

  constructor(
    /** runs a group; answers one output per input, in order */
    private readonly runGroup: (inputs: In[]) => Promise<Out[]>,
    private readonly max: number,
    /** with this, one caller's trouble is only its own: a single call, or a group that failed, runs alone */
    private readonly alone?: AloneAfterFailure<In, Out>,
  ) {}

  /** Runs `input` with whatever else is waiting. */
  run(input: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) {
        const group = this.queue.splice(0, this.max);
        if (!this.alone || group.length > 1) {
          try {
            const outputs = await this.runGroup(group.map((call) => call.input));
            group.forEach((call, i) => call.resolve(outputs[i]!));
            continue;
          } catch (err) {
            if (!this.alone?.when(err)) {
              for (const call of group) call.reject(err);
              continue;
            }
          }
        }
        for (const call of group) await this.alone!.run(call.input).then(call.resolve, call.reject);
      }
    } finally {
      this.running = false;
    }
  }
}
