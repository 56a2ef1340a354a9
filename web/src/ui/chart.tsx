// Charts (Chart.js, only the parts used) with their data also in a table, for screen readers
// and for anyone who wants the figures.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import { useEffect, useRef } from "preact/hooks";

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);

/** One labelled value. */
export interface Point {
  label: string;
  value: number;
}

/** One named row of values, one per label of its chart. */
export interface Series {
  name: string;
  values: number[];
}

/** Colours of a chart's series, in order (the first is the single series' colour). */
const COLOURS = ["#2456a6", "#c0582b", "#3a8a4f"];

/** A line or bar chart of `points`; values are shown through `format`. */
export function PointsChart({
  kind,
  title,
  points,
  format,
  max,
}: {
  kind: "line" | "bar";
  title: string;
  points: Point[];
  format: (value: number) => string;
  max?: number;
}) {
  return (
    <SeriesChart
      kind={kind}
      title={title}
      labels={points.map((point) => point.label)}
      series={[{ name: title, values: points.map((point) => point.value) }]}
      format={format}
      max={max}
    />
  );
}

/** A line or bar chart of several series over the same labels (bars side by side), with
 * their figures in a table: a column per series. */
export function SeriesChart({
  kind,
  title,
  labels,
  series,
  format,
  max,
}: {
  kind: "line" | "bar";
  title: string;
  labels: string[];
  series: Series[];
  format: (value: number) => string;
  max?: number;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const several = series.length > 1;
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, {
      type: kind,
      data: {
        labels,
        datasets: series.map((one, index) => {
          const colour = COLOURS[index % COLOURS.length] ?? "#2456a6";
          return {
            label: one.name,
            data: one.values,
            borderColor: colour,
            backgroundColor: kind === "bar" ? colour : "rgba(36, 86, 166, 0.15)",
            fill: kind === "line" && !several,
            tension: 0.25,
          };
        }),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          y: {
            beginAtZero: true,
            ...(max ? { max } : {}),
            ticks: { callback: (v) => format(Number(v)) },
          },
        },
        plugins: {
          legend: { display: several },
          tooltip: {
            callbacks: {
              label: (item) =>
                several
                  ? `${item.dataset.label ?? ""}: ${format(Number(item.raw))}`
                  : format(Number(item.raw)),
            },
          },
        },
      },
    });
    return () => chart.destroy();
  }, [kind, title, JSON.stringify({ labels, series })]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div class="chart-canvas">
        <canvas ref={canvas} role="img" aria-label={title} />
      </div>
      <details>
        <summary>Figures</summary>
        <table class="chart-data" data-chart={title}>
          {several && (
            <thead>
              <tr>
                <td />
                {series.map((one) => (
                  <th key={one.name} scope="col">
                    {one.name}
                  </th>
                ))}
              </tr>
            </thead>
          )}
          <tbody>
            {labels.map((label, row) => (
              <tr key={label}>
                <th scope="row">{label}</th>
                {series.map((one) => (
                  <td key={one.name} data-series={one.name} data-value={one.values[row]}>
                    {format(one.values[row] ?? 0)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
