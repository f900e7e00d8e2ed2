/**
 * The node's Prometheus metrics: {@link baton.runtime.metrics.NodeMetrics} turns the daemon's
 * events and status snapshots into counters, gauges and summaries, and writes them in the
 * Prometheus text format for the API's metrics endpoint.
 */
package baton.runtime.metrics;
