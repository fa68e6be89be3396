// `pollbridge run`: the outbox, the XMPP client, the networks and the relay, plus /metrics and
// /healthz when configured. Runs until `signal` aborts (SIGINT/SIGTERM), then stops taking in
// messages, drains the outbox for up to relay.drain_timeout, closes everything and returns 0.
// A runtime failure (XMPP login refused, state directory unusable, ...) returns 2.
import { join } from "node:path";
import type { Logger } from "pino";
import type { ResponseInfo } from "../../src/index.ts";
import type { Config } from "../config/types.ts";
import type { ConfigChange } from "./config-diff.ts";
import type { NetworkAdapter } from "../network.ts";
import { createNetwork } from "../networks/registry.ts";
import { BridgeMetrics } from "../observe/metrics.ts";
import { startObserveServer, type ObserveServer } from "../observe/server.ts";
import { ActivityRecorder } from "../observe/recorder.ts";
import { tapInbound } from "../observe/inbound-tap.ts";
import { buildStatus, qrPending } from "../observe/status.ts";
import { stateFilePath } from "../networks/shared/state-file.ts";
import { configSecrets } from "../config/secrets.ts";
import { lineScrubber } from "../log.ts";
import { Relay } from "../relay/relay.ts";
import { OUTBOX_FILE, Outbox } from "../store/outbox.ts";
import { DEFAULT_ID_MAP_MAX_AGE_MS, schedulePrune, type PruneSchedule } from "../store/prune-schedule.ts";
import { MucClient, type XmppOptions } from "../xmpp/index.ts";

export interface RunOptions {
  logger: Logger;
  signal: AbortSignal;
  onReady?: (info: { metricsUrl?: string }) => void;
  /** Tests: adapters used instead of building them from `config.networks`. */
  networks?: Record<string, NetworkAdapter>;
  /** Tests: XMPP client settings the config does not carry (reconnect backoff). */
  xmpp?: Partial<XmppOptions>;
  /**
   * Reload: once running, run() hands over the function that applies a new config to the running
   * bridge (only the parts `change` names; see config-diff.ts). It resolves when the new config
   * is in force; a failure leaves whatever part could not start as a start would (logged).
   */
  onApply?: (apply: ApplyFn) => void;
  /** The run before did not end (its pid file named a process that is gone: pid-file.ts). */
  lastRunUnclean?: boolean;
}

export type ApplyFn = (next: Config, change: ConfigChange) => Promise<void>;

/** Delivered items and dedupe keys are kept this long (for late reflections and redeliveries). */
const KEEP_DELIVERED_MS = 7 * 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 3600 * 1000;
/** How often the bridge looks whether `pollbridge outbox` changed the outbox (SQLite data_version). */
const OUTBOX_WATCH_MS = 1000;

/** The adapter of each network some bridge uses (`only`: just these ids). */
function buildNetworks(config: Config, opts: RunOptions, metrics: BridgeMetrics | undefined, only?: readonly string[]): Map<string, NetworkAdapter> {
  const used = new Map<string, string[]>();
  for (const b of config.bridges) for (const l of b.links) used.set(l.network, [...(used.get(l.network) ?? []), l.group]);
  const networks = new Map<string, NetworkAdapter>();
  for (const [id, groups] of used) {
    if (only && !only.includes(id)) continue;
    const given = opts.networks?.[id];
    const cfg = config.networks[id];
    if (given) networks.set(id, given);
    else if (cfg) {
      // A long poll's round trip (its hold included) is the poll latency the metrics report.
      const onResponse = metrics && ((r: ResponseInfo) => r.longPoll && metrics.observePoll(id, r.ms / 1000));
      networks.set(id, createNetwork(id, cfg, { stateDir: config.state_dir, logger: opts.logger, groups: [...new Set(groups)], onResponse, ...(metrics ? { onEventRejected: () => metrics.rejected(id) } : {}) }));
    }
    else throw new Error(`bridges name network "${id}", which is not in networks`);
  }
  if (!only) for (const id of Object.keys(config.networks)) if (!used.has(id)) opts.logger.warn({ network: id }, "network is configured but no bridge uses it");
  return networks;
}

function xmppOptions(config: Config, opts: RunOptions): XmppOptions & { logger: Logger } {
  const x = config.xmpp;
  return {
    jid: x.jid,
    password: x.password,
    service: x.service,
    nick: x.nick,
    verifyTls: x.verify_tls,
    tls: x.tls,
    saslMechanism: x.sasl_mechanism,
    maxBodyLength: x.max_message_length,
    selfPingInterval: x.self_ping_interval,
    ...opts.xmpp,
    logger: opts.logger,
  };
}

/** Counts reconnects: a side coming back after it had been up once. */
function countXmppReconnects(metrics: BridgeMetrics, muc: MucClient): void {
  let xmppUp = false;
  muc.on("online", () => {
    if (xmppUp) metrics.reconnect("xmpp");
    xmppUp = true;
  });
}

function countNetworkReconnects(metrics: BridgeMetrics, networks: Map<string, NetworkAdapter>): void {
  for (const [id, net] of networks) {
    let up = false;
    let wasOk = false;
    net.onStatus?.((s) => {
      if (s.ok && !wasOk && up) metrics.reconnect(id);
      if (s.ok) up = true;
      wasOk = s.ok;
    });
  }
}

export async function run(config: Config, opts: RunOptions): Promise<number> {
  const log = opts.logger;
  let outbox: Outbox | undefined;
  let muc: MucClient | undefined;
  let relay: Relay | undefined;
  let observe: ObserveServer | undefined;
  let pruning: PruneSchedule | undefined;
  let watching: NodeJS.Timeout | undefined;
  let code = 0;
  /** The config in force (a reload may have applied a newer one). */
  let current = config;
  try {
    outbox = new Outbox(join(config.state_dir, OUTBOX_FILE));
    const keepIdsMs = config.relay?.id_map_max_age ?? DEFAULT_ID_MAP_MAX_AGE_MS;
    outbox.prune(Date.now() - KEEP_DELIVERED_MS, Date.now() - keepIdsMs);
    pruning = schedulePrune(outbox, {
      keepMs: KEEP_DELIVERED_MS,
      keepIdsMs,
      everyMs: PRUNE_EVERY_MS,
      onError: (err) => log.warn({ err }, "pruning the outbox failed; retried at the next round"),
    });
    if (outbox.migratedUnknown > 0) log.warn({ count: outbox.migratedUnknown, file: outbox.path }, "sends an older version gave up as unknown are settled again by evidence (echo, history) or resent");
    const dead = outbox.deadLetters().reduce((n, d) => n + d.n, 0);
    if (dead > 0) log.warn({ count: dead, file: outbox.path }, "the outbox holds dead letters: messages that could not be delivered (state failed)");
    if (outbox.depth() > 0) log.info({ pending: outbox.depth() }, "resuming the outbox");

    const metrics = config.metrics ? new BridgeMetrics() : undefined;
    // The status page's scrubber: every secret of every config this run has had (a reload adds the new ones).
    const secrets = new Set(configSecrets(config));
    let scrub = lineScrubber([...secrets]);
    const recorder = new ActivityRecorder({ scrub: (line) => scrub(line) });
    const adapters = (cfg: Config, only?: readonly string[]) => {
      const built = new Map([...buildNetworks(cfg, opts, metrics, only)].map(([id, net]) => [id, tapInbound(net, (n) => recorder.networkEvent(n))]));
      if (metrics) countNetworkReconnects(metrics, built);
      return built;
    };
    let networks = adapters(config);
    if (opts.lastRunUnclean) {
      for (const [id, net] of networks) {
        if (net.crashGap) log.warn({ network: id, lost: net.crashGap }, "the last run did not stop (killed or crashed): what this network handed out at that moment, if anything, is lost");
      }
    }
    // A fatal XMPP error (login refused) ends the run, from the first client or one a reload made;
    // everything else is retried inside.
    let xmppFailed!: (err: Error) => void;
    const fatal = new Promise<Error>((resolve) => (xmppFailed = resolve));
    const xmppClient = (cfg: Config) => {
      const client = new MucClient(xmppOptions(cfg, opts));
      client.once("error", (err) => client === muc && xmppFailed(err));
      if (metrics) countXmppReconnects(metrics, client);
      return client;
    };
    const startXmpp = (client: MucClient) => client.start().catch((err: Error) => client === muc && xmppFailed(err));
    muc = xmppClient(config);
    relay = new Relay({
      bridges: config.bridges,
      outbox,
      room: muc,
      networks,
      logger: log,
      metrics,
      rate: config.relay?.rate,
      deadLetterAfterMs: config.relay?.dead_letter_after,
      deadLetterNotice: config.relay?.dead_letter_notice,
      mediaMaxBytes: config.relay?.media_max_bytes,
      echoWindowMs: config.relay?.echo_window,
      xmppMaxLength: config.xmpp.max_message_length,
    });

    relay.on("settled", (item, kind) => {
      if (kind === "delivered") recorder.delivered(item);
    });
    // `pollbridge outbox retry/drop` commits from another process: the workers look again.
    let version = outbox.dataVersion();
    watching = setInterval(() => {
      try {
        const now = outbox!.dataVersion();
        if (now !== version) relay?.wake();
        version = now;
      } catch (err) {
        log.warn({ err }, "reading the outbox's version failed");
      }
    }, OUTBOX_WATCH_MS);
    watching.unref();

    void startXmpp(muc);
    await relay.start();
    const sources = { config, health: () => relay!.health(), outbox, recorder, scrub: (line: string) => scrub(line) };
    const serveObserve = (m: BridgeMetrics, at: NonNullable<Config["metrics"]>) =>
      startObserveServer(at.listen, {
        metrics: m,
        health: sources.health,
        logger: log,
        auth: at.auth,
        page: {
          status: () => buildStatus(sources),
          qrFile: (network) => (qrPending(sources, network) ? stateFilePath(config.state_dir, "webqq", network, "-qr.png") : undefined),
        },
      });
    if (metrics && config.metrics) observe = await serveObserve(metrics, config.metrics);
    // Reload: only what changed; see config-diff.ts for which keys land where.
    opts.onApply?.(async (next, change) => {
      for (const secret of configSecrets(next)) secrets.add(secret);
      scrub = lineScrubber([...secrets]);
      if (change.xmpp) {
        const old = muc!;
        const fresh = xmppClient(next);
        await relay!.replaceRoomLink(fresh, async () => {
          muc = fresh; // the old client's stop is no failure of the run
          await old.stop().catch((err: unknown) => log.error({ err }, "stopping the old XMPP client failed"));
        }, next.xmpp.max_message_length);
        void startXmpp(fresh);
      }
      const rebuilt = [...change.networks, ...change.networksAdded];
      if (change.bridges || change.rate || rebuilt.length || change.networksRemoved.length) {
        networks = new Map([...networks].filter(([id]) => !change.networksRemoved.includes(id)));
        for (const [id, net] of adapters(next, rebuilt)) networks.set(id, net);
        await relay!.update({ bridges: next.bridges, networks, rate: next.relay?.rate });
      }
      if (change.metrics && metrics && next.metrics) {
        // Closed first: the new address may be the old one (only the auth changed).
        await observe?.close();
        observe = undefined;
        observe = await serveObserve(metrics, next.metrics);
        log.info({ metrics: observe.url }, "metrics server restarted");
      }
      sources.config = next;
      current = next;
    });
    opts.onReady?.({ metricsUrl: observe?.url });
    log.info({ bridges: config.bridges.length, networks: [...networks.keys()], metrics: observe?.url }, "pollbridge running");

    const aborted = new Promise<undefined>((resolve) => {
      if (opts.signal.aborted) resolve(undefined);
      opts.signal.addEventListener("abort", () => resolve(undefined), { once: true });
    });
    const failure = await Promise.race([aborted, fatal]);
    if (failure) {
      log.fatal({ err: failure }, "stopping: the XMPP side cannot work");
      code = 2;
    }
    const drainMs = current.relay?.drain_timeout ?? 10_000;
    log.info({ drainMs, pending: relay.health().outbox.depth }, "stopping: draining the outbox");
    await relay.stop(drainMs);
    return code;
  } catch (err) {
    log.fatal({ err }, "the bridge failed");
    await relay?.stop(0).catch(() => undefined);
    return 2;
  } finally {
    pruning?.stop();
    clearInterval(watching);
    await observe?.close().catch((err: unknown) => log.error({ err }, "closing the metrics server failed"));
    await muc?.stop().catch((err: unknown) => log.error({ err }, "stopping the XMPP client failed"));
    outbox?.close();
  }
}
