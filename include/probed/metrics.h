/* metrics.h — /metrics in the Prometheus text exposition format 0.0.4.
 *
 * Per probe (labels probe, family and, when the config has one, location), with
 * blackbox_exporter's names so its dashboards work: probe_success, probe_duration_seconds,
 * probe_http_status_code, probe_http_duration_seconds{phase=resolve|connect|tls|
 * processing|transfer}, probe_dns_lookup_time_seconds, probe_http_content_length...
 * (emitted once the probe has a result since start); and probed's own:
 * probed_probe_state{state}, probed_consecutive_failures, probed_open_incidents{severity}
 * (the incident manager's open incidents), probed_open_pages{severity} (by the severity of
 * the incident each paged probe belongs to, "none" outside one: pd_incident_sevmap),
 * probed_outbox_*, probed_store_errors_total, probed_store_checkpoint*, probed_store_wal_frames,probed_results_total, probed_start_lateness_
 * seconds (histogram), probed_build_info, probed_up... The full list is in README.md.
 *
 * Nothing secret is ever emitted: labels come from probe names, families, tiers and the
 * location; the output is additionally masked against every registered secret.
 */
#ifndef PROBED_METRICS_H
#define PROBED_METRICS_H
#include <stdint.h>
#include "probed/buf.h"
#include "probed/daemon.h"
#include "probed/err.h"

#define PD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The exposition in two steps, so that the long part can run off the loop (httpd's
 * render thread): pd_metrics_collect copies what the per-probe families show and renders
 * the daemon-wide families (it reads the daemon and the store: on the loop), and
 * pd_metrics_format writes the per-probe families plus that tail to out, touching only
 * the snapshot (any thread). limit caps the tail as out's limit caps the whole. Both
 * return 0, PD_ERR_NOMEM or PD_ERR_INVALID (limit reached), err set. */
struct pd_metrics_snap;
int pd_metrics_collect(const struct pd_daemon *d, int64_t now_ms, size_t limit,
		       struct pd_metrics_snap **out, struct pd_err *err);
int pd_metrics_format(struct pd_metrics_snap *s, struct pd_buf *out, struct pd_err *err);
void pd_metrics_snap_free(struct pd_metrics_snap *s);

/* Append the exposition of d's live state at now_ms (UTC) to out. Reads the outbox stats
 * from the store (a failed read omits those series and is logged). Returns 0,
 * PD_ERR_NOMEM, or PD_ERR_INVALID when out's limit was reached (err set). */
int pd_metrics_render(const struct pd_daemon *d, int64_t now_ms, struct pd_buf *out,
		      struct pd_err *err);

/* Append s as a label value: backslash, double quote and newline escaped. */
int pd_metrics_label_value(struct pd_buf *out, const char *s);

#endif
