// dispatcher.compose() without its Proxy: a Dispatcher whose dispatch runs the interceptors
// (the LAST listed is the outermost, as in undici's compose) and whose close/destroy are the
// base's. The Proxy undici returns traps every property access, on every request.
import { Dispatcher } from "undici";

export class ComposedDispatcher extends Dispatcher {
  readonly base: Dispatcher;
  private readonly chain: Dispatcher.Dispatch;

  constructor(base: Dispatcher, interceptors: readonly Dispatcher.DispatcherComposeInterceptor[]) {
    super();
    this.base = base;
    let dispatch: Dispatcher.Dispatch = base.dispatch.bind(base);
    for (const interceptor of interceptors) dispatch = interceptor(dispatch);
    this.chain = dispatch;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.chain(opts, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    if (callback === undefined) return this.base.close();
    this.base.close(callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    if (typeof a === "function") return this.base.destroy(a);
    if (b !== undefined) return this.base.destroy(a ?? null, b);
    return this.base.destroy(a ?? null);
  }
}
