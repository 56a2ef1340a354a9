// Charts (Chart.js, only the parts used) with their data also in a table, for screen readers
// and for anyone who wants the figures.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
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
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, {
      type: kind,
      data: {
        labels: points.map((point) => point.label),
        datasets: [
          {
            label: title,
            data: points.map((point) => point.value),
            borderColor: "#2456a6",
            backgroundColor: kind === "bar" ? "#2456a6" : "rgba(36, 86, 166, 0.15)",
            fill: kind === "line",
            tension: 0.25,
          },
        ],
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
          tooltip: { callbacks: { label: (item) => format(Number(item.raw)) } },
        },
      },
    });
    return () => chart.destroy();
  }, [kind, title, JSON.stringify(points)]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div class="chart-canvas">
        <canvas ref={canvas} role="img" aria-label={title} />
      </div>
      <details>
        <summary>Figures</summary>
        <table class="chart-data" data-chart={title}>
          <tbody>
            {points.map((point) => (
              <tr key={point.label}>
                <th scope="row">{point.label}</th>
                <td data-value={point.value}>{format(point.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
