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
        try {
          const outputs = await this.runGroup(group.map((call) => call.input));
          group.forEach((call, i) => call.resolve(outputs[i]!));
        } catch (err) {
          for (const call of group) call.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
