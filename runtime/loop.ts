// The single queue through which JS events reach Lua. Jobs run one at a time, in posting
// order, never while Lua is already running, so no binding ever re-enters the VM.
export type Job = () => void;

export class EventLoop {
  private queue: Job[] = [];
  private head = 0;
  private scheduled = false;
  private draining = false;
  private holds = 0;
  private stopped = false;
  private idleListener: (() => void) | undefined;

  /** Called each time the queue is empty and nothing holds the loop open. */
  onIdle(listener: () => void): void {
    this.idleListener = listener;
  }

  post(job: Job): void {
    if (this.stopped) return;
    this.queue.push(job);
    this.schedule();
  }

  /**
   * post() for a network event whose source hands it over last (a received MQTT message):
   * when nothing is queued or running, the job runs at once, in the source's own callback,
   * and so does whatever it posted (a LuatOS sys.publish). Order and non-reentrancy are as
   * with post(); a burst of messages then reaches Lua as it is parsed, instead of piling up
   * as queued jobs, which cost more than the Lua calls themselves. `stillWanted` is asked
   * just before the job runs, whenever that is.
   */
  deliver(job: Job, stillWanted: () => boolean): void {
    this.deliverWith(job, stillWanted, undefined, undefined, undefined);
  }

  /**
   * deliver() of one job function for many events, with each event's values as arguments:
   * run at once, it costs no closure (a receiver gets millions of messages; the garbage of
   * a closure each adds up to a tenth of what the whole receive path makes).
   */
  deliverWith<A, B, C>(job: (a: A, b: B, c: C) => void, stillWanted: () => boolean, a: A, b: B, c: C): void {
    if (this.stopped) return;
    if (this.draining || this.head < this.queue.length) {
      this.post(() => {
        if (stillWanted()) job(a, b, c);
      });
      return;
    }
    if (!stillWanted()) return;
    this.draining = true;
    try {
      job(a, b, c);
    } finally {
      this.draining = false;
    }
    if (this.head < this.queue.length) this.drain();
    else if (this.holds === 0) this.schedule();
  }

  /** Keeps the script alive until the returned release is called (idempotent). */
  hold(): () => void {
    this.holds++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.holds--;
      if (this.holds === 0) this.schedule();
    };
  }

  get pending(): number {
    return this.holds + this.queue.length - this.head;
  }

  get busy(): boolean {
    return this.draining;
  }

  stop(): void {
    this.stopped = true;
    this.queue = [];
    this.head = 0;
  }

  /** Re-checks idleness soon, e.g. after the main chunk returned. */
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(this.drain);
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    if (this.draining || this.stopped) return;
    this.draining = true;
    try {
      while (this.head < this.queue.length && !this.stopped) {
        const job = this.queue[this.head++] as Job;
        job();
      }
    } finally {
      this.queue = this.queue.length === this.head ? [] : this.queue.slice(this.head);
      this.head = 0;
      this.draining = false;
    }
    if (!this.stopped && this.queue.length === 0 && this.holds === 0) this.idleListener?.();
  };
}
