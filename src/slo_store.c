/* slo_store.c — an objective's status from the store's aggregates (see slo.h). */
#include <stdlib.h>
#include <string.h>
#include "probed/classify.h"
#include "probed/config.h"
#include "probed/slo.h"
#include "probed/store.h"

struct slo_src {
	struct pd_store *st;
	const struct pd_slo_cfg *o;
	const char **names;
	size_t n;
	struct pd_err *err;
};

static int
slo_count(void *ud, int64_t since_ms, int64_t until_ms, struct pd_slo_counts *out)
{
	struct slo_src *s = ud;
	struct pd_window w;
	int rc;

	if (s->o->lat_under_ms > 0)
		return pd_store_family_latency(s->st, s->names, s->n, since_ms, until_ms,
					       (double)s->o->lat_under_ms, &out->total, &out->bad,
					       s->err);
	rc = pd_store_family_window(s->st, s->names, s->n, since_ms, until_ms, &w, s->err);
	if (rc == PD_ERR_NOTFOUND)
		rc = 0; /* no result stored yet */
	out->total = w.count;
	out->bad = w.failures;
	return rc;
}

int
pd_slo_store_status(struct pd_store *st, const struct pd_config *cfg, const struct pd_slo_cfg *o,
		    int64_t now_ms, struct pd_slo_status *out, struct pd_err *err)
{
	struct slo_src src = {st, o, NULL, 0, err};
	int rc;

	src.names = calloc(cfg->nprobes ? cfg->nprobes : 1, sizeof(*src.names));
	if (src.names == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < cfg->nprobes; i++)
		if (strcmp(o->by_probe ? cfg->probes[i].name : cfg->probes[i].family, o->name) == 0)
			src.names[src.n++] = cfg->probes[i].name;
	rc = pd_slo_evaluate(o, cfg->slo_rules, cfg->nslo_rules, slo_count, &src, now_ms, out);
	free(src.names);
	return rc;
}
