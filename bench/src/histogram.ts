/**
 * Latency histograms: HDR histograms of microseconds, shipped between processes as compressed
 * base64 and merged in the orchestrator.
 */
import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from 'hdr-histogram-js';

/** Highest latency tracked exactly: 10 minutes in µs (the histogram also auto-resizes). */
const HIGHEST_MICROS = 600_000_000;

/** An empty histogram of microseconds, 3 significant digits. */
export function createLatencyHistogram(): Histogram {
  return build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_MICROS,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
    useWebAssembly: false,
  });
}

/** Compressed base64 form, for IPC and the JSON results. */
export function encodeHistogram(histogram: Histogram): string {
  return encodeIntoCompressedBase64(histogram);
}

/** Merges encoded histograms into a new one. */
export function mergeEncoded(encoded: readonly string[]): Histogram {
  const merged = createLatencyHistogram();
  for (const text of encoded) {
    const part = decodeFromCompressedBase64(text, 32, false);
    merged.add(part);
    part.destroy();
  }
  return merged;
}

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** Summarises a histogram of microseconds as milliseconds (zeros when empty). */
export function summarize(histogram: Histogram): LatencySummary {
  const ms = (micros: number): number => Math.round(micros) / 1000;
  if (histogram.totalCount === 0) {
    return { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
  }
  return {
    count: histogram.totalCount,
    meanMs: ms(histogram.mean),
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p90Ms: ms(histogram.getValueAtPercentile(90)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    p999Ms: ms(histogram.getValueAtPercentile(99.9)),
    maxMs: ms(histogram.maxValue),
  };
}
