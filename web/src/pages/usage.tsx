import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, type Grant, type Instance, type UsagePoint, type UsageReport, unwrap } from "../api/client";
import { EmptyState, ErrorState, Loading, Segmented } from "../components/ui";

const RANGES = { day: "24 hours", week: "7 days", month: "30 days" } as const;
type Range = keyof typeof RANGES;
const HOUR = 3_600_000;

/** The window a range stands for, ending at the current hour's end, and its granularity. */
function windowOf(range: Range) {
  const to = Math.ceil(Date.now() / HOUR) * HOUR;
  const hours = range === "day" ? 24 : range === "week" ? 7 * 24 : 30 * 24;
  return {
    from: new Date(to - hours * HOUR).toISOString(),
    to: new Date(to).toISOString(),
    granularity: range === "day" ? ("hour" as const) : ("day" as const),
  };
}

export const usageQuery = (instanceId: string, range: Range) => ({
  queryKey: ["usage", instanceId, range],
  queryFn: () =>
    unwrap(
      api.GET("/api/instances/{id}/usage", { params: { path: { id: instanceId }, query: windowOf(range) } }),
    ),
  refetchInterval: 60_000,
});

const spaceUsageQuery = (grant: Grant) => ({
  queryKey: ["usage", grant.instanceId, grant.platformId, grant.spaceId],
  queryFn: () =>
    unwrap(
      api.GET("/api/instances/{id}/access/{platformId}/{spaceId}/usage", {
        params: {
          path: { id: grant.instanceId, platformId: grant.platformId, spaceId: grant.spaceId },
          query: windowOf("day"),
        },
      }),
    ),
  refetchInterval: 60_000,
});

const formatMs = (ms: number | null) =>
  ms === null ? "–" : ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;

/** The instance's usage: calls and errors over time, latency p50/p95, busiest tools and spaces. */
export function UsagePanel({ instance }: { instance: Instance }) {
  const [range, setRange] = useState<Range>("day");
  const usage = useQuery(usageQuery(instance.id, range));
  const grants = useQuery({
    queryKey: ["access-names", instance.id],
    queryFn: () =>
      unwrap(
        api.GET("/api/instances/{id}/access", {
          params: { path: { id: instance.id }, query: { limit: 200 } },
        }),
      ),
  });
  const spaceNames = new Map(
    (grants.data?.items ?? []).map((grant) => [`${grant.platformId}#${grant.spaceId}`, grant.spaceName]),
  );
  return (
    <section aria-labelledby="usage-title" className="stack usage-panel">
      <div className="usage-head">
        <h2 id="usage-title" className="section-title">
          Usage
        </h2>
        <Segmented
          legend="Period"
          name="usage-range"
          choices={["day", "week", "month"] as const}
          labels={RANGES}
          value={range}
          onChange={setRange}
        />
      </div>
      {usage.isPending ? (
        <Loading label="Loading usage…" />
      ) : usage.isError ? (
        <ErrorState error={usage.error} retry={() => void usage.refetch()} />
      ) : usage.data.totals.calls === 0 ? (
        <EmptyState title={`No calls in the last ${RANGES[range]}`}>
          Calls through the gateway show here within a minute of being made.
        </EmptyState>
      ) : (
        <UsageCharts report={usage.data} spaceNames={spaceNames} />
      )}
    </section>
  );
}

function UsageCharts({ report, spaceNames }: { report: UsageReport; spaceNames?: Map<string, string> }) {
  const { totals } = report;
  const label = (point: UsagePoint) =>
    report.granularity === "hour"
      ? new Date(point.start).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : new Date(point.start).toLocaleDateString([], { month: "short", day: "numeric" });
  return (
    <>
      <dl className="usage usage-totals" data-testid="usage-totals">
        <div>
          <dt>Calls</dt>
          <dd data-testid="usage-calls">{totals.calls}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd data-testid="usage-errors">{totals.errors}</dd>
        </div>
        <div>
          <dt>Limited</dt>
          <dd>{totals.limited}</dd>
        </div>
        <div>
          <dt>Latency p50</dt>
          <dd data-testid="usage-p50">{formatMs(totals.p50)}</dd>
        </div>
        <div>
          <dt>Latency p95</dt>
          <dd data-testid="usage-p95">{formatMs(totals.p95)}</dd>
        </div>
      </dl>
      <div className="usage-charts">
        <figure className="chart">
          <figcaption>Calls and errors</figcaption>
          <BarChart
            points={report.series}
            label={label}
            series={[
              { key: "calls", name: "calls", value: (p) => p.calls - p.errors, className: "bar-ok" },
              { key: "errors", name: "errors", value: (p) => p.errors, className: "bar-error" },
            ]}
          />
        </figure>
        <figure className="chart">
          <figcaption>Latency p50 and p95 (ms)</figcaption>
          <LineChart
            points={report.series}
            label={label}
            lines={[
              { name: "p50", value: (p) => p.p50, className: "line-p50" },
              { name: "p95", value: (p) => p.p95, className: "line-p95" },
            ]}
          />
        </figure>
      </div>
      <div className="usage-tops">
        <TopList
          title="Top tools"
          testId="usage-tools"
          rows={report.tools
            .slice(0, 8)
            .map((row) => ({ name: row.tool, calls: row.calls, errors: row.errors }))}
        />
        {report.spaces.length > 0 && (
          <TopList
            title="Top spaces"
            testId="usage-spaces"
            rows={report.spaces.slice(0, 8).map((row) => ({
              name: spaceNames?.get(`${row.platformId}#${row.spaceId}`) ?? row.spaceId,
              calls: row.calls,
              errors: row.errors,
            }))}
          />
        )}
      </div>
    </>
  );
}

function TopList({
  title,
  rows,
  testId,
}: {
  title: string;
  rows: Array<{ name: string; calls: number; errors: number }>;
  testId: string;
}) {
  const most = Math.max(1, ...rows.map((row) => row.calls));
  return (
    <div className="top-list">
      <h3>{title}</h3>
      {rows.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <ol data-testid={testId}>
          {rows.map((row) => (
            <li key={row.name}>
              <span className="top-name mono">{row.name}</span>
              <span className="top-count">
                {row.calls}
                {row.errors > 0 && <span className="danger-text"> · {row.errors} failed</span>}
              </span>
              <span
                className="top-bar"
                style={{ width: `${(100 * row.calls) / most}%` }}
                aria-hidden="true"
              />
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

const WIDTH = 600;
const HEIGHT = 160;

/** Stacked bars, one per point, in plain SVG that scales to its box; a title on each bar reads it out. */
function BarChart({
  points,
  series,
  label,
}: {
  points: UsagePoint[];
  series: Array<{ key: string; name: string; value: (point: UsagePoint) => number; className: string }>;
  label: (point: UsagePoint) => string;
}) {
  const top = Math.max(1, ...points.map((p) => series.reduce((sum, s) => sum + s.value(p), 0)));
  const step = WIDTH / Math.max(1, points.length);
  return (
    <svg
      viewBox={`0 0 ${WIDTH} ${HEIGHT + 24}`}
      className="chart-svg"
      role="img"
      aria-label={`${series.map((s) => s.name).join(" and ")} per period, at most ${top}`}
    >
      {points.map((point, index) => {
        let y = HEIGHT;
        return (
          <g key={point.start}>
            <title>{`${label(point)}: ${point.calls} calls, ${point.errors} errors`}</title>
            {series.map((s) => {
              const height = (s.value(point) / top) * HEIGHT;
              y -= height;
              return (
                <rect
                  key={s.key}
                  x={index * step + step * 0.1}
                  y={y}
                  width={step * 0.8}
                  height={height}
                  className={s.className}
                />
              );
            })}
          </g>
        );
      })}
      <Axis points={points} label={label} step={step} />
    </svg>
  );
}

function LineChart({
  points,
  lines,
  label,
}: {
  points: UsagePoint[];
  lines: Array<{ name: string; value: (point: UsagePoint) => number | null; className: string }>;
  label: (point: UsagePoint) => string;
}) {
  const top = Math.max(1, ...points.flatMap((p) => lines.map((line) => line.value(p) ?? 0)));
  const step = WIDTH / Math.max(1, points.length);
  const x = (index: number) => index * step + step / 2;
  const y = (value: number) => HEIGHT - (value / top) * HEIGHT;
  return (
    <svg
      viewBox={`0 0 ${WIDTH} ${HEIGHT + 24}`}
      className="chart-svg"
      role="img"
      aria-label={`Latency per period, at most ${Math.round(top)} ms`}
    >
      {lines.map((line) => {
        const path = points
          .map((point, index) => [index, line.value(point)] as const)
          .filter((entry): entry is readonly [number, number] => entry[1] !== null)
          .map(([index, value], at) => `${at === 0 ? "M" : "L"}${x(index).toFixed(1)},${y(value).toFixed(1)}`)
          .join(" ");
        return <path key={line.name} d={path} className={`chart-line ${line.className}`} />;
      })}
      {points.map((point, index) =>
        point.p95 === null || point.p50 === null ? null : (
          <g key={point.start}>
            <title>{`${label(point)}: p50 ${formatMs(point.p50)}, p95 ${formatMs(point.p95)}`}</title>
            <circle cx={x(index)} cy={y(point.p50)} r={4} className="line-p50" />
            <circle cx={x(index)} cy={y(point.p95)} r={4} className="line-p95" />
          </g>
        ),
      )}
      <text x={4} y={16} className="chart-text">
        {`${Math.round(top)} ms`}
      </text>
      <Axis points={points} label={label} step={step} />
    </svg>
  );
}

/** First, middle and last labels under a chart: enough to read it at 390 px. */
function Axis({
  points,
  label,
  step,
}: {
  points: UsagePoint[];
  label: (p: UsagePoint) => string;
  step: number;
}) {
  const marks = [0, Math.floor(points.length / 2), points.length - 1].filter(
    (i, at, all) => i >= 0 && all.indexOf(i) === at,
  );
  return (
    <>
      {marks.map((index) => {
        const point = points[index];
        if (!point) return null;
        const anchor = index === 0 ? "start" : index === points.length - 1 ? "end" : "middle";
        const at = index === 0 ? 0 : index === points.length - 1 ? WIDTH : index * step + step / 2;
        return (
          <text key={index} x={at} y={HEIGHT + 20} textAnchor={anchor} className="chart-text">
            {label(point)}
          </text>
        );
      })}
    </>
  );
}

/** A space's calls over the last 24 hours, one bar per hour; errors in the error colour. */
export function Sparkline({ grant }: { grant: Grant }) {
  const usage = useQuery(spaceUsageQuery(grant));
  if (usage.isPending) return <span className="sparkline sparkline-empty muted">…</span>;
  if (usage.isError || usage.data.totals.calls === 0) {
    return <span className="sparkline sparkline-empty muted">No calls in 24 h</span>;
  }
  const points = usage.data.series;
  const top = Math.max(1, ...points.map((p) => p.calls));
  const step = 96 / Math.max(1, points.length);
  return (
    <svg
      viewBox="0 0 96 24"
      className="sparkline"
      role="img"
      aria-label={`${usage.data.totals.calls} calls, ${usage.data.totals.errors} errors in the last 24 hours`}
      data-testid="sparkline"
    >
      {points.map((point, index) => {
        const bar = (calls: number, className: string) => {
          const height = Math.max(calls > 0 ? 1 : 0, (calls / top) * 24);
          const width = Math.max(1, step - 1);
          return (
            <rect x={index * step} y={24 - height} width={width} height={height} className={className} />
          );
        };
        return (
          <g key={point.start}>
            {bar(point.calls, "bar-ok")}
            {point.errors > 0 && bar(point.errors, "bar-error")}
          </g>
        );
      })}
    </svg>
  );
}
