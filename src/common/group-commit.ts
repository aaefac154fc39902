interface Waiter<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: items submitted while a flush is running wait and go together into the next
 * flush, so many concurrent callers share one transaction. Each caller's promise settles only
 * after the flush that carried its item has finished.
 */
export class GroupCommit<T, R> {
  private pending: Waiter<T, R>[] = [];
  private inFlight = 0;

  constructor(
    private readonly flush: (items: T[]) => Promise<R[]>,
    private readonly maxBatch: number,
    private readonly maxInFlight: number,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.maxInFlight && this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      this.inFlight += 1;
      this.flush(batch.map((waiter) => waiter.item))
        .then(
          (results) => batch.forEach((waiter, index) => waiter.resolve(results[index])),
          (error: unknown) => batch.forEach((waiter) => waiter.reject(error)),
        )
        .finally(() => {
          this.inFlight -= 1;
          this.drain();
        });
    }
  }
}
