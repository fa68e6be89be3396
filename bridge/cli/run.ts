// `pollbridge run`: the outbox, the XMPP client, the networks and the relay, plus /metrics and
// /healthz when configured. Runs until `signal` aborts (SIGINT/SIGTERM), then stops taking in
// messages, drains the outbox for up to relay.drain_timeout, closes everything and returns 0.
// A runtime failure (XMPP login refused, state directory unusable, ...) returns 2.
import { join } from "node:path";
import type { Logger } from "pino";
import type { ResponseInfo } from "../../src/index.ts";
import type { Config } from "../config/types.ts";
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
import { Outbox } from "../store/outbox.ts";
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
}

/** Delivered items and dedupe keys are kept this long (for late reflections and redeliveries). */
const KEEP_DELIVERED_MS = 7 * 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 3600 * 1000;
/** How often the bridge looks whether `pollbridge outbox` changed the outbox (SQLite data_version). */
const OUTBOX_WATCH_MS = 1000;

export const OUTBOX_FILE = "outbox.sqlite";

function buildNetworks(config: Config, opts: RunOptions, metrics: BridgeMetrics | undefined): Map<string, NetworkAdapter> {
  const used = new Map<string, string[]>();
  for (const b of config.bridges) for (const l of b.links) used.set(l.network, [...(used.get(l.network) ?? []), l.group]);
  const networks = new Map<string, NetworkAdapter>();
  for (const [id, groups] of used) {
    const given = opts.networks?.[id];
    const cfg = config.networks[id];
    if (given) networks.set(id, given);
    else if (cfg) {
      // A long poll's round trip (its hold included) is the poll latency the metrics report.
      const onResponse = metrics && ((r: ResponseInfo) => r.longPoll && metrics.observePoll(id, r.ms / 1000));
      networks.set(id, createNetwork(id, cfg, { stateDir: config.state_dir, logger: opts.logger, groups: [...new Set(groups)], onResponse }));
    }
    else throw new Error(`bridges name network "${id}", which is not in networks`);
  }
  for (const id of Object.keys(config.networks)) if (!used.has(id)) opts.logger.warn({ network: id }, "network is configured but no bridge uses it");
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
function countReconnects(metrics: BridgeMetrics, muc: MucClient, networks: Map<string, NetworkAdapter>): void {
  let xmppUp = false;
  muc.on("online", () => {
    if (xmppUp) metrics.reconnect("xmpp");
    xmppUp = true;
  });
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
    const scrub = lineScrubber(configSecrets(config));
    const recorder = new ActivityRecorder({ scrub });
    const networks = new Map([...buildNetworks(config, opts, metrics)].map(([id, net]) => [id, tapInbound(net, (n) => recorder.networkEvent(n))]));
    muc = new MucClient(xmppOptions(config, opts));
    if (metrics) countReconnects(metrics, muc, networks);
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

    // A fatal XMPP error (login refused) ends the run; everything else is retried inside.
    const fatal = new Promise<Error>((resolve) => muc!.once("error", resolve));
    const started = muc.start().then(
      () => undefined,
      (err: Error) => err,
    );
    await relay.start();
    if (metrics && config.metrics) {
      const sources = { config, health: () => relay!.health(), outbox, recorder, scrub };
      observe = await startObserveServer(config.metrics.listen, {
        metrics,
        health: sources.health,
        logger: log,
        auth: config.metrics.auth,
        page: {
          status: () => buildStatus(sources),
          qrFile: (network) => (qrPending(sources, network) ? stateFilePath(config.state_dir, "webqq", network, "-qr.png") : undefined),
        },
      });
    }
    opts.onReady?.({ metricsUrl: observe?.url });
    log.info({ bridges: config.bridges.length, networks: [...networks.keys()], metrics: observe?.url }, "pollbridge running");

    const aborted = new Promise<undefined>((resolve) => {
      if (opts.signal.aborted) resolve(undefined);
      opts.signal.addEventListener("abort", () => resolve(undefined), { once: true });
    });
    const failure = await Promise.race([aborted, fatal, started.then((err) => (err ? err : aborted))]);
    if (failure) {
      log.fatal({ err: failure }, "stopping: the XMPP side cannot work");
      code = 2;
    }
    const drainMs = config.relay?.drain_timeout ?? 10_000;
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
