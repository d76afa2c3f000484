/**
 * The shared frame of the dashboard's uPlot charts: dark-theme axes, a time x-axis in seconds, and a size that
 * follows the panel. The time axis is labelled in whole seconds of the wall clock (`14:03:25`), one line, with
 * ticks at least a second apart: uPlot's default picks sub-second ticks for a young chart (`:14.500`) and adds a
 * date line, neither of which says anything here.
 *
 * Runtime: browser. uPlot draws on a canvas and sets only CSSOM styles, so it runs under the page's strict
 * Content Security Policy (no inline style attributes, no injected style sheets).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { el } from '../dom';
import { formatClockS } from '../format';

const chartHeightPx = 150;
const axisColour = '#8b949e';
const gridColour = 'rgba(240, 246, 252, 0.07)';
/** Tick spacings of the time axis, in seconds. */
const timeIncrementsS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400];

export interface ChartSeries {
  label: string;
  colour: string;
  /** Draw points only (a scatter), for samples that are not a continuous quantity. */
  pointsOnly?: boolean;
}

/** Creates a time-series chart in `host` that resizes with it. */
export function createTimeChart(host: HTMLElement, yLabel: string, series: ChartSeries[]): uPlot {
  const axis = (label?: string): uPlot.Axis => ({
    stroke: axisColour,
    grid: { stroke: gridColour, width: 1 },
    ticks: { stroke: gridColour, width: 1 },
    font: '11px system-ui, sans-serif',
    ...(label ? { label, labelFont: '11px system-ui, sans-serif', labelSize: 14 } : {}),
  });
  const options: uPlot.Options = {
    width: Math.max(200, host.clientWidth),
    height: chartHeightPx,
    cursor: { drag: { x: false, y: false } },
    // uPlot's legend takes two lines for a hover readout; a one-line key above the chart says enough here.
    legend: { show: false },
    scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max * 1.1)] } },
    axes: [
      {
        ...axis(),
        incrs: timeIncrementsS,
        space: 70,
        values: (_u, splits) => {
          const labels = splits.map((s) => formatClockS(s * 1000));
          // The canvas cannot be read back; the labels drawn are kept here for a reader (and a test) to check.
          host.dataset.xTicks = labels.join(' ');
          return labels;
        },
      },
      { ...axis(yLabel), size: 48 },
    ],
    series: [
      {},
      ...series.map((s): uPlot.Series => ({
        label: s.label,
        stroke: s.colour,
        width: s.pointsOnly ? 0 : 1.5,
        points: s.pointsOnly ? { show: true, size: 4, fill: s.colour, stroke: s.colour } : { show: false },
        ...(s.pointsOnly ? { paths: () => null } : {}),
      })),
    ],
  };
  if (series.length > 1) host.before(chartKey(series));
  const chart = new uPlot(options, [[], ...series.map(() => [])], host);
  new ResizeObserver(() => {
    const width = Math.max(200, host.clientWidth);
    if (width !== chart.width) chart.setSize({ width, height: chartHeightPx });
  }).observe(host);
  return chart;
}

function chartKey(series: ChartSeries[]): HTMLElement {
  return el(
    'div',
    { className: 'chart-key' },
    series.map((s) => {
      const swatch = el('i');
      swatch.style.background = s.colour;
      return el('span', {}, [swatch, s.label]);
    }),
  );
}
