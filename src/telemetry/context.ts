import { ROOT_CONTEXT, type Context, type ContextManager } from "@opentelemetry/api";

/**
 * A context manager without async hooks, for processes that only run stages: a context is
 * active while `with` runs its function, up to the function's first `await`. That is all
 * the stages need (they pass parents explicitly), and what BullMQ's telemetry reads when it
 * starts a span (`withTraceparent(tp, () => queue.add(…))`). AsyncLocalStorage, which keeps
 * a context across awaits, costs a busy worker about a fifth of its CPU on Node 20
 * (docs/benchmarks.md); processes that serve agents use it, for their tool-call spans.
 */
export class SyncContextManager implements ContextManager {
  #active: Context = ROOT_CONTEXT;

  active(): Context {
    return this.#active;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const previous = this.#active;
    this.#active = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.#active = previous;
    }
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== "function") return target;
    const fn = target as (...args: unknown[]) => unknown;
    const call = (self: unknown, args: unknown[]) => this.with(context, () => fn.apply(self, args));
    return function bound(this: unknown, ...args: unknown[]) {
      return call(this, args);
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#active = ROOT_CONTEXT;
    return this;
  }
}
