// The live flows of one plugin (by its state directory) in this process, shared by the instances
// a config reload leaves side by side: connections accepted before the reload stay with the old
// instance's hooks until they close, but the newest instance's controller decides for all of
// them, so a rule changed through the API (which talks to the newest) reaches every live flow.
import type { ConnectionContext } from 'weaver';
import type { Controller } from './controller.ts';
import type { Flow } from './policy.ts';

const registry = new Map<string, LiveFlows>();

export class LiveFlows {
  /** Every open connection of every instance, with what is known of its flow. */
  readonly flows = new Map<ConnectionContext, Flow>();
  private readonly key: string;
  /** Instances' controllers, oldest first; the last one decides. */
  private readonly stack: Controller[] = [];

  private constructor(key: string) {
    this.key = key;
  }

  static for(key: string): LiveFlows {
    let live = registry.get(key);
    if (!live) registry.set(key, (live = new LiveFlows(key)));
    return live;
  }

  get current(): Controller | undefined {
    return this.stack.at(-1);
  }

  /** Whether a newer instance took over from this one. */
  replaced(ctl: Controller): boolean {
    const at = this.stack.indexOf(ctl);
    return at >= 0 && at < this.stack.length - 1;
  }

  /** A new instance takes over; the flows it adopts are held to its policy at once. */
  join(ctl: Controller): void {
    this.stack.push(ctl);
    ctl.recheck();
  }

  /** An instance stops; if it was deciding (a reload refused after its setup), the one before decides again. */
  leave(ctl: Controller): void {
    const at = this.stack.indexOf(ctl);
    if (at < 0) return;
    this.stack.splice(at, 1);
    if (this.stack.length === 0) registry.delete(this.key);
    else if (at === this.stack.length) this.current!.recheck();
  }
}
