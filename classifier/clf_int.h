/*
 * clf_int.h — private definitions shared by the classifier's files: the
 * group table, the feature transform, and the in-memory model layout.
 */
#ifndef BW_CLF_INT_H
#define BW_CLF_INT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "clf.h"

#define CLF_N_GROUPS 8
#define CLF_CLIP 5.0

/* The fixed sub-model groups (docs/MODEL.md). */
struct clf_group_def {
	const char *name; /* "user_text" */
	int cls;          /* feature class its columns come from */
	uint32_t req;     /* CLF_AVAIL_* bits it needs */
	int text;         /* user class only: 1 = name/description columns, 0 = the rest */
	int rbf;          /* 1: RBF-kernel twin of the linear group of the same columns */
};

extern const struct clf_group_def clf_groups[CLF_N_GROUPS];

/* Class names in feat.h order. */
extern const char *const clf_class_names[CLF_NCLASS];

/* Logistic function 1 / (1 + e^-f), written so exp() never overflows. */
static inline double clf_sigmoid(double f)
{
	return f >= 0 ? 1.0 / (1.0 + exp(-f)) : exp(f) / (1.0 + exp(f));
}

/* Signed log transform applied to every column before standardising. */
static inline double clf_slog(double v)
{
	return v >= 0 ? log1p(v) : -log1p(-v);
}

/* Scaled value: standardised signed log, clipped to [-CLF_CLIP, CLF_CLIP];
 * a masked value (NaN: a field its source lacks) is the population mean, 0. */
static inline double clf_scale(double v, double mean, double sd)
{
	double z = (clf_slog(v) - mean) / sd;
	if (isnan(z))
		return 0;
	return z > CLF_CLIP ? CLF_CLIP : z < -CLF_CLIP ? -CLF_CLIP : z;
}

/* Is column `name` of class `cls` used by group `g`? */
int clf_group_wants(int g, const char *name, int cls);

/* A trained group in a loaded model. */
struct clf_mgroup {
	int def;            /* index into clf_groups */
	uint32_t req;       /* availability needed */
	size_t ncol;        /* columns */
	size_t *cols;       /* ncol feature indices */
	double *mean;       /* ncol scaler means (of clf_slog values) */
	double *sd;         /* ncol scaler std devs (> 0) */
	struct clf_svm *svm;/* fast predictor over the ncol scaled columns */
	double *fw;         /* linear only: sign * w / sd per column (scaler folded in), else NULL */
	double *lo, *hi;    /* linear only: clip bounds on the log value, mean -/+ CLF_CLIP sd */
	double fb;          /* linear only: folded bias */
	double support;     /* "support_d99": 99th percentile of the training population's
			     * RMS scaled value; 0 = absent (older models, other groups) */
};

/* One availability-pattern entry of a stack. */
struct clf_mentry {
	uint32_t mask;      /* availability bits the used groups need */
	size_t nuse;        /* groups used */
	int use[CLF_N_GROUPS]; /* indices into the head's groups */
	double w[CLF_N_GROUPS]; /* logistic weights */
	double b;           /* logistic bias (the profile part's when act_cap is finite) */
	double act_b;       /* activity part's offset: its bias minus its training prior log-odds */
	double act_cap;     /* |activity part| is clipped to this (INFINITY = no clip) */
	double decl_w;      /* log-odds added when the account declares automation (>= 0) */
};

/* Does group g need posts (an activity group, trained on simulated timelines)? */
static inline int clf_group_is_activity(int g)
{
	return (clf_groups[g].req & CLF_AVAIL_ACTIVITY) != 0;
}

/* Log-odds of entry e from its groups' decision values dec[k] (k over e->use):
 * b + sum of the profile groups' w d + clip(act_b + sum of the activity groups'
 * w d, -act_cap, act_cap) (docs/MODEL.md "Combining profile and activity"),
 * plus decl_w when the account declares automation (clf_declares).
 * *act_scale (may be NULL) gets clipped / unclipped activity part (1 unclipped). */
static inline double clf_entry_logit(const struct clf_mentry *e, const double *dec,
				     bool declared, double *act_scale)
{
	double f = e->b + (declared ? e->decl_w : 0), a = e->act_b;
	int any = 0;
	for (size_t k = 0; k < e->nuse; k++) {
		if (clf_group_is_activity(e->use[k])) {
			a += e->w[k] * dec[k];
			any = 1;
		} else {
			f += e->w[k] * dec[k];
		}
	}
	/* soft cap: act_cap * tanh(a / act_cap) stays within +-act_cap, is about a
	 * when |a| is small, and keeps the order of activity evidence beyond the
	 * cap (a hard clip made every saturated timeline score alike) */
	double ac = isfinite(e->act_cap) && e->act_cap > 0 ? e->act_cap * tanh(a / e->act_cap)
	          : e->act_cap == 0 ? 0 : a;
	if (act_scale)
		*act_scale = a != 0 ? ac / a : 1.0;
	return any ? f + ac : f;
}

/* A stack: calibrated logistic combination of group decision values. */
struct clf_mstack {
	char *name;         /* "english", "universal", "user", ..., or the bot type */
	int head;           /* index into heads */
	size_t nent;        /* entries */
	struct clf_mentry ent[CLF_N_PATTERNS]; /* by decreasing specificity */
};

/* A head: the groups trained for one label definition. */
struct clf_mhead {
	char *name;                            /* "overall" or the bot type */
	struct clf_mgroup *grp[CLF_N_GROUPS];  /* NULL when not trained */
};

#define CLF_CAP_GRID 101

struct clf_model {
	char *id;                   /* "sha256:<hex>" */
	char *schema_hash;          /* feature registry hash */
	size_t n_features;          /* registry size */
	size_t nhead;               /* heads (overall first) */
	struct clf_mhead *heads;    /* nhead heads */
	size_t nstack;              /* stacks */
	struct clf_mstack *stacks;  /* nstack stacks */
	int st_english;             /* stack indices, -1 when absent */
	int st_universal;
	int st_class[CLF_NCLASS];
	size_t ntypes;              /* bot types */
	int st_type[CLF_MAX_TYPES]; /* stack of each type */
	double cap_bot[2][CLF_CAP_GRID];   /* english/universal: P(p >= k/100 | bot) */
	double cap_human[2][CLF_CAP_GRID]; /* same for humans */
	json_t *training;           /* training metadata (owned) */
	struct clf_baselines *base; /* training baselines (owned), NULL when the file has none */
};

/* Pick the entry of `st` with the largest mask contained in `avail`; NULL if none. */
const struct clf_mentry *clf_stack_entry(const struct clf_mstack *st, uint32_t avail);

/* Does the account with features x[0..n) (registry order) declare itself
 * automated (automation words in its handle, name or bio, or a platform bot
 * flag)? Columns at or past n count as absent. The first declaring column's
 * index goes to *first (may be NULL; -1 if none); docs/MODEL.md. */
bool clf_declares(const double *x, size_t n, long *first);

/* The model file's "baselines" section (clf_drift.c): parse `o` for a model
 * of n_features columns into *out (caller frees with clf_baselines_free()).
 * 0 or BW_EPARSE / BW_ENOMEM. */
struct clf_baselines;
int clf_baselines_parse(const json_t *o, size_t n_features, struct clf_baselines **out,
			char *errstr, size_t errlen);
void clf_baselines_free(struct clf_baselines *b);
/* Score the training rows `m` with the model document `doc` (complete but for
 * its baselines) and set doc's "baselines" (clf_baselines_json(), threshold
 * 0.5). Called once by clf_train(). 0 or a BW_E* code. */
int clf_baselines_attach(json_t *doc, const struct clf_matrix *m, char *errstr, size_t errlen);

#endif
