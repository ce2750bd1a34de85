/* statuspage.h — "/" (a self-contained HTML status page) and "/api/status" (the same
 * data as JSON).
 *
 *   daemon live views + store series ──collect──► struct pd_statuspage_view ──► HTML | JSON
 *                                        (derive: probe -> family -> overall states,
 *                                         open pages, the INVESTIGATING draft)
 *
 * States. Per probe: down (a confirmed page is open: DOWN), degraded (failing but not
 * yet confirmed, or RECOVERING: succeeding again while the page is still open), up (last
 * result ok), unknown (no result since start). Per family: unknown when all its probes
 * are unknown, down when every known probe is down, degraded when any probe is down or
 * degraded, up otherwise. Overall: the worst family state, except that "down" overall
 * needs every known family down (one family down while others work is "degraded", the
 * playbook's yellow P2 page).
 *
 * Incident. The open pages (probes DOWN or RECOVERING) are always listed. When the incident
 * manager has open incidents in the store, they are listed too and the most
 * severe one's stored status message is the draft shown; otherwise the draft is the
 * playbook's INVESTIGATING template (comms.c) over the paged endpoint families, naming the
 * families that still work, with the UTC start and posting times.
 *
 * Severity. Every severity shown (the incident pill, the incidents and pages tables, the
 * probe cards, /api/status incidents[], pages[] and probes[]) is the incident manager's
 * (the classifier's), read through pd_incident_sevmap: a probe shows the severity of the
 * open incident it belongs to, and none ("none" / null) outside one, even with a page
 * open. There is no second rule here.
 *
 * History: PD_STATUSPAGE_BUCKETS buckets of PD_STATUSPAGE_BUCKET_MS aligned to the UTC clock,
 * the last one holding now: the last ~24 h. It comes from the store's per-minute
 * aggregates (pd_store_series_agg, pd_store_window_stats; p95s within the histogram's
 * 11.1 %), never from a scan of the results, and is cached per probe: a bucket that ended
 * PD_STATUSPAGE_GRACE_MS ago is kept for good (8 bytes), the open bucket(s) and the 24 h
 * totals are recomputed when older than PD_STATUSPAGE_CACHE_MS. The store is read in
 * bounded slices (pd_statuspage_refresh, PD_STATUSPAGE_SLICE_US each): one per collect,
 * and more on the HTTP listener's timer while the page is viewed; a render only copies
 * the cache. So the series shown is at most PD_STATUSPAGE_CACHE_MS plus one refresh round
 * old, and right after start (or a long time without views) it fills in over a few
 * seconds (/api/status: history.complete false until then). The live state (the
 * incident, the family states) is never cached.
 *
 * The page has no external assets (inline CSS and SVG, no script) and everything
 * inserted in it is HTML-escaped. Secrets never reach it (probe URLs are shown as
 * written, url_display); the output is additionally masked against registered secrets.
 */
#ifndef PROBED_STATUSPAGE_H
#define PROBED_STATUSPAGE_H
#include <stddef.h>
#include <stdint.h>
#include "probed/buf.h"
#include "probed/daemon.h"
#include "probed/err.h"
#include "probed/result.h"
#include "probed/store.h"

#define PD_STATUSPAGE_BUCKETS 96
#define PD_STATUSPAGE_BUCKET_MS (15 * 60 * 1000)
#define PD_STATUSPAGE_CACHE_MS 10000      /* max age of the open buckets and 24 h totals */
#define PD_STATUSPAGE_GRACE_MS 120000     /* a bucket is final this long after its end */
#define PD_STATUSPAGE_SLICE_US 2000       /* store work per refresh slice (one step more) */
#define PD_STATUSPAGE_TICK_MS 25          /* between slices while the page is viewed */
#define PD_STATUSPAGE_IDLE_MS (5 * 60000) /* background refresh stops after no view */

enum pd_statuspage_state {
	PD_STATUSPAGE_UNKNOWN = 0,
	PD_STATUSPAGE_UP = 1,
	PD_STATUSPAGE_DEGRADED = 2,
	PD_STATUSPAGE_DOWN = 3,
};
/* "unknown", "up", "degraded", "down". */
const char *pd_statuspage_state_str(enum pd_statuspage_state s);

struct pd_statuspage_probe {
	/* inputs (filled by collect, or by a test) */
	char name[128];
	char family[128];
	char tier[16];
	int severity;       /* of the open incident it belongs to, 0 = none (collect) */
	char incident[96];  /* that incident's key, "" = none */
	char endpoint[256]; /* "/post-detail/": path of url_display */
	enum pd_eval_status eval;
	int consec_fail;
	int64_t first_fail_ms; /* first failure of the current outage, 0 if none */
	int64_t paged_at_ms;   /* 0 if no page open */
	char dedup_key[128];
	int has_result;
	struct pd_result last;       /* valid when has_result */
	int64_t cert_not_after_s;    /* earliest notAfter of the TLS chain, 0 = unknown */
	struct pd_history_stats day; /* over the bucket window; count 0 = no data */
	struct pd_series_bucket buckets[PD_STATUSPAGE_BUCKETS];
	int series_complete; /* 0: the cache is still filling (day/buckets partial) */
	/* held by a maintenance window or a silence ("" = not): its name, reason, end */
	char maint[64];
	char maint_reason[256];
	int64_t maint_until_ms;
	/* derived */
	enum pd_statuspage_state state;
	int page_open; /* eval DOWN or RECOVERING */
};

struct pd_statuspage_family {
	const char *name;     /* into the first probe of the family */
	const char *endpoint; /* same */
	enum pd_statuspage_state state;
	size_t nprobes, ndown;
	size_t nunknown, nbad, npaged; /* probes unknown, not up (known), with a page open */
};

/* An open incident of the incident manager, read from the store. */
struct pd_statuspage_incident {
	char key[96];
	int severity; /* 1..4 */
	char title[160];
	char reason[256];
	int64_t opened_ms;
	char members[512]; /* JSON array of probe names, as stored (may be cut) */
};
#define PD_STATUSPAGE_MAX_INCIDENTS 8

/* one `slo:` objective's error budget (collect; not touched by derive). */
struct pd_statuspage_slo {
	char name[128];   /* family or probe */
	double objective; /* 0.999 */
	int64_t period_ms;
	double sli;         /* -1 = no results */
	double budget_left; /* ratio: 1 untouched, 0 spent, < 0 overspent */
	int severity;       /* of the burn-rate rule firing now, 0 = none */
};
#define PD_STATUSPAGE_MAX_SLOS 32

struct pd_statuspage_view {
	int64_t now_ms;
	int64_t window_start_ms; /* buckets[0].start_ms */
	char location[128];      /* "" when the config has none */
	char version[32];
	struct pd_statuspage_probe *probes; /* malloc'd */
	size_t nprobes;
	/* derived by pd_statuspage_derive */
	struct pd_statuspage_family *families; /* malloc'd, first-seen order */
	size_t nfamilies;
	enum pd_statuspage_state overall;
	size_t npages;             /* probes with a page open */
	int64_t incident_start_ms; /* earliest outage start among open pages, 0 if none */
	char *draft;               /* the INVESTIGATING text (malloc'd), NULL if no page */
	/* from the incident manager's table (collect; not touched by derive) */
	struct pd_statuspage_incident incidents[PD_STATUSPAGE_MAX_INCIDENTS]; /* newest first */
	size_t nincidents;
	char *incident_message; /* status_message of the most severe open incident
				    * (malloc'd), NULL when none; shown instead of draft */
	struct pd_statuspage_slo slos[PD_STATUSPAGE_MAX_SLOS]; /* config order */
	size_t nslos;
};

/* The series cache, owned by the HTTP listener. */
struct pd_statuspage;
struct pd_statuspage *pd_statuspage_new(void);
void pd_statuspage_free(struct pd_statuspage *sp);

/* Run series refresh steps (store reads for the probes of the last collect) until
 * budget_us of the cache's clock is spent, at least one step if any is due. Returns 1
 * while some series is stale or incomplete, 0 when all are fresh. */
int pd_statuspage_refresh(struct pd_statuspage *sp, struct pd_store *st, int64_t now_ms,
			  int64_t budget_us);
/* 1 while the page was viewed (collect) within PD_STATUSPAGE_IDLE_MS of now_ms: the
 * listener keeps refreshing then. */
int pd_statuspage_busy(const struct pd_statuspage *sp, int64_t now_ms);
/* The cache's heap footprint in bytes. */
size_t pd_statuspage_cache_bytes(const struct pd_statuspage *sp);
/* Tests and benchmarks: the monotonic microsecond clock refresh budgets with (NULL =
 * the real one). */
void pd_statuspage_set_clock(struct pd_statuspage *sp, int64_t (*mono_us)(void *ud), void *ud);

/* Build the view of d at now_ms (live views + the cached store series) and derive it.
 * v is overwritten; release it with pd_statuspage_view_cleanup even on failure. */
int pd_statuspage_collect(struct pd_statuspage *sp, const struct pd_daemon *d, int64_t now_ms,
			  struct pd_statuspage_view *v, struct pd_err *err);
/* Compute states, families, overall, the open pages and the draft from the inputs of
 * v->probes (pure; called by collect). 0 or PD_ERR_NOMEM. */
int pd_statuspage_derive(struct pd_statuspage_view *v, struct pd_err *err);
void pd_statuspage_view_cleanup(struct pd_statuspage_view *v);

/* Render v as the HTML page / the JSON document, appended to out. 0, PD_ERR_NOMEM, or
 * PD_ERR_INVALID when out's limit was reached. */
int pd_statuspage_html(const struct pd_statuspage_view *v, struct pd_buf *out, struct pd_err *err);
int pd_statuspage_json(const struct pd_statuspage_view *v, struct pd_buf *out, struct pd_err *err);

/* Append s HTML-escaped (& < > " ' ), control characters dropped. */
int pd_statuspage_html_escape(struct pd_buf *out, const char *s);

#endif
