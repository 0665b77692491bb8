import { z } from "zod";
import { AppError } from "./errors";
import { Instance } from "./instance";
import { Latency } from "./latency";
import { getRuntime } from "./runtime";
import { between, Keys, usageScope } from "./store/keys";
import { emptyTally, type UsageTally } from "./usage-tally";

/**
 * The gateway's usage history, as the gateway's batches left it in the table (see
 * functions/gateway/resolver.ts's usageWriter): per instance and per space, calls by outcome and
 * latency per hour, tools and spaces per day; kept 90 days.
 */
export namespace Usage {
  const hourMs = 3_600_000;
  const dayMs = 24 * hourMs;
  export const keptDays = 90;

  export const Query = z.object({
    from: z.iso
      .datetime({ offset: true })
      .optional()
      .describe("Start (ISO time); 24 hours before `to` by default."),
    to: z.iso.datetime({ offset: true }).optional().describe("End (ISO time); now by default."),
    granularity: z.enum(["hour", "day"]).default("hour").describe("One point per hour or per day (UTC)."),
  });
  export type Query = z.input<typeof Query>;

  const Counts = z.object({
    calls: z.number().describe("Every call counted: ok, upstream errors, refused, limited and timed out."),
    ok: z.number(),
    errors: z.number().describe("Upstream errors, refused calls and timeouts."),
    upstreamError: z.number(),
    refused: z.number(),
    limited: z.number(),
    timeout: z.number(),
    p50: z
      .number()
      .nullable()
      .describe("Median latency (ms) of calls the upstream answered; null without any."),
    p95: z.number().nullable(),
  });

  export const Point = Counts.extend({ start: z.string().describe("The hour's or day's start, ISO.") });
  export type Point = z.infer<typeof Point>;

  export const Report = z.object({
    from: z.string(),
    to: z.string(),
    granularity: z.enum(["hour", "day"]),
    totals: Counts,
    series: z.array(Point),
    tools: z
      .array(z.object({ tool: z.string(), calls: z.number(), errors: z.number() }))
      .describe("Busiest first."),
    spaces: z
      .array(z.object({ platformId: z.string(), spaceId: z.string(), calls: z.number(), errors: z.number() }))
      .describe("Busiest first; empty in a space's own report."),
  });
  export type Report = z.infer<typeof Report>;

  type HourItem = { hour: string } & Record<string, number | string>;
  type ToolItem = { day: string; tool: string; calls: number; errors: number };
  type SpaceItem = { day: string; platformId: string; spaceId: string; calls: number; errors: number };

  const outcomes = ["calls", "ok", "upstreamError", "refused", "limited", "timeout"] as const;
  type Tally = UsageTally;

  function addItem(tally: Tally, item: HourItem) {
    for (const name of outcomes) tally[name] += Number(item[name] ?? 0);
    for (const [name, value] of Object.entries(item)) {
      if (/^l\d+$/.test(name)) Latency.add(tally.latency, { [Number(name.slice(1))]: Number(value) });
    }
  }

  const countsOf = (tally: Tally) => ({
    calls: tally.calls,
    ok: tally.ok,
    errors: tally.upstreamError + tally.refused + tally.timeout,
    upstreamError: tally.upstreamError,
    refused: tally.refused,
    limited: tally.limited,
    timeout: tally.timeout,
    p50: Latency.quantile(tally.latency, 0.5),
    p95: Latency.quantile(tally.latency, 0.95),
  });

  function window(query: Query, now: number) {
    const parsed = Query.parse(query);
    const stepMs = parsed.granularity === "hour" ? hourMs : dayMs;
    const to = parsed.to ? Date.parse(parsed.to) : now;
    const from = parsed.from ? Date.parse(parsed.from) : to - dayMs;
    if (from >= to) {
      throw new AppError("invalid_range", "`from` must be before `to`.", {
        details: { from: parsed.from, to: parsed.to },
      });
    }
    if (to - from > keptDays * dayMs + dayMs) {
      throw new AppError(
        "invalid_range",
        `Usage is kept ${keptDays} days: ask for at most ${keptDays} days at once.`,
        {
          details: { from: parsed.from, to: parsed.to },
        },
      );
    }
    const start = from - (from % stepMs);
    return { granularity: parsed.granularity, stepMs, start, from, to };
  }

  const iso = (ms: number) => new Date(ms).toISOString();
  const hourKey = (ms: number) => iso(ms);
  const dayKey = (ms: number) => iso(ms).slice(0, 10);

  async function report(
    instanceId: string,
    space: { platformId: string; spaceId: string } | undefined,
    query: Query,
  ): Promise<Report> {
    const { store, now } = getRuntime();
    await Instance.load(instanceId);
    const { granularity, stepMs, start, from, to } = window(query, now().getTime());
    const scope = usageScope(instanceId, space);
    const days = [dayKey(start), `${dayKey(to)}~`] as const;
    const [hourItems, toolItems, spaceItems] = await Promise.all([
      collect<HourItem>(store.all(between(Keys.usageHours(scope), hourKey(start), hourKey(to)))),
      collect<ToolItem>(store.all(between(Keys.usageTools(scope), ...days))),
      space ? [] : collect<SpaceItem>(store.all(between(Keys.usageSpaces(instanceId), ...days))),
    ]);

    const buckets = new Map<number, Tally>();
    for (let at = start; at < to; at += stepMs) buckets.set(at, emptyTally());
    const totals = emptyTally();
    for (const item of hourItems) {
      const at = Date.parse(item.hour);
      const tally = buckets.get(at - (at % stepMs));
      if (!tally) continue;
      addItem(tally, item);
      addItem(totals, item);
    }

    const busiest = <T extends { calls: number }>(rows: Iterable<T>) =>
      [...rows].sort((a, b) => b.calls - a.calls);
    const toolTotals = new Map<string, { tool: string; calls: number; errors: number }>();
    for (const item of toolItems) {
      const row = toolTotals.get(item.tool) ?? { tool: item.tool, calls: 0, errors: 0 };
      row.calls += item.calls ?? 0;
      row.errors += item.errors ?? 0;
      toolTotals.set(item.tool, row);
    }
    const spaceTotals = new Map<
      string,
      { platformId: string; spaceId: string; calls: number; errors: number }
    >();
    for (const item of spaceItems) {
      const id = `${item.platformId}#${item.spaceId}`;
      const row = spaceTotals.get(id) ?? {
        platformId: item.platformId,
        spaceId: item.spaceId,
        calls: 0,
        errors: 0,
      };
      row.calls += item.calls ?? 0;
      row.errors += item.errors ?? 0;
      spaceTotals.set(id, row);
    }

    return {
      from: iso(from),
      to: iso(to),
      granularity,
      totals: countsOf(totals),
      series: [...buckets].map(([at, tally]) => ({ start: iso(at), ...countsOf(tally) })),
      tools: busiest(toolTotals.values()),
      spaces: busiest(spaceTotals.values()),
    };
  }

  async function collect<T>(items: AsyncIterable<unknown>): Promise<T[]> {
    const all: T[] = [];
    for await (const item of items) all.push(item as T);
    return all;
  }

  /** An instance's usage over a window: a point per hour or day, its busiest tools and spaces. */
  export const forInstance = (instanceId: string, query: Query) => report(instanceId, undefined, query);

  /** One space's usage of an instance over a window. */
  export const forSpace = (instanceId: string, platformId: string, spaceId: string, query: Query) =>
    report(instanceId, { platformId, spaceId }, query);
}
