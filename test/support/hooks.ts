// Mocha set-up many suites share: an embedded broker for the suite, and runtimes closed
// after each test.
import { startBroker, type RunningBroker } from "../../main/index.js";
import type { Captured } from "./capture.js";

/** Starts an embedded broker before the suite and closes it after; call inside describe. */
export function useEmbeddedBroker(): { readonly broker: RunningBroker } {
  const holder: { broker?: RunningBroker } = {};
  before(async () => {
    holder.broker = await startBroker({});
  });
  after(async () => {
    await holder.broker?.close();
  });
  return {
    get broker(): RunningBroker {
      if (!holder.broker) throw new Error("the suite's broker has not started");
      return holder.broker;
    },
  };
}

/** Returns `track`, which closes each runtime it is given after the current test. */
export function closeAfterEach(): (c: Captured) => Captured {
  const open: Captured[] = [];
  afterEach(async () => {
    for (const c of open.splice(0)) await c.rt.close();
  });
  return (c) => (open.push(c), c);
}
