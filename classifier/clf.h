/*
 * clf.h — the classifier: libsvm training, calibrated scores, class and
 * bot-type subscores, the model file and the score record.
 *
 * The module works on a generic labelled matrix (rows of doubles, column
 * names, column classes, per-row availability) so it does not depend on how
 * features are computed. A trained model is one JSON document (docs/MODEL.md)
 * holding the scaler, the libsvm sub-models as libsvm model text, the
 * calibration and the stacking combiners; its id is the sha256 of its bytes.
 *
 * How an account is scored (docs/MODEL.md): each *group* (user_text,
 * user_counts, friend, network, temporal, content, sentiment) has its own
 * linear or RBF SVM over its columns. A group is computable for an account
 * when the account's availability bits (CLF_AVAIL_*) cover the group's
 * requirement. A *stack* (english, universal, per class, per bot type)
 * combines the computable groups' decision values with a logistic model
 * fitted on out-of-fold decision values for exactly that availability
 * pattern, so an account without counts or without posts still gets a
 * calibrated score from what is there.
 *
 * Ownership: documented per function. Models are immutable after load and
 * may be shared read-only between threads. This module never logs or exits.
 */
#ifndef BW_CLF_H
#define BW_CLF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CLF_FORMAT_VERSION 1

/* Availability bits: which kinds of evidence an account has. */
#define CLF_AVAIL_TEXT 0x1u     /* a profile with name / screen name / description */
#define CLF_AVAIL_COUNTS 0x2u   /* follower, friend, status counts and creation time */
#define CLF_AVAIL_ACTIVITY 0x4u /* at least CLF_MIN_POSTS authored posts */
#define CLF_AVAIL_ALL 0x7u
#define CLF_N_PATTERNS 8        /* every subset of the three bits */
#define CLF_MIN_POSTS 3

/* Feature classes, in feat.h's order (FEAT_USER ... FEAT_SENTIMENT). */
#define CLF_NCLASS 6

/* ---- generic matrix ------------------------------------------------------- */

struct clf_matrix {
	size_t n_rows;        /* rows filled */
	size_t cap_rows;      /* rows allocated */
	size_t n_cols;        /* columns per row */
	char **col_names;     /* n_cols owned names ("user.name_length") */
	int *col_class;       /* n_cols feature classes, 0..CLF_NCLASS-1 */
	bool *col_universal;  /* n_cols language-independence flags */
	double *x;            /* n_rows * n_cols values, row-major */
	int *label;           /* n_rows labels: 1 bot, 0 human */
	uint32_t *avail;      /* n_rows CLF_AVAIL_* masks */
	char **row_id;        /* n_rows owned account ids */
	char **row_class;     /* n_rows owned classes (bot type; "human" for humans) */
	char **row_dataset;   /* n_rows owned dataset names ("" when not given) */
};

/* New empty matrix with the given columns (copied). NULL on allocation
 * failure. Caller frees with clf_matrix_free(). */
struct clf_matrix *clf_matrix_new(size_t n_cols, const char *const *names, const int *classes,
				  const bool *universal);
void clf_matrix_free(struct clf_matrix *m);

/* Append a row: x[0..n_cols) copied, strings copied (cls/dataset may be NULL).
 * Returns 0, BW_EINVAL (non-finite value, bad label) or BW_ENOMEM. */
int clf_matrix_add(struct clf_matrix *m, const char *id, const double *x, int label,
		   const char *cls, const char *dataset, uint32_t avail, char *errstr,
		   size_t errlen);

/* ---- metrics (clf_metrics.c) ---------------------------------------------- */

/* ROC AUC with ties counted half (Mann-Whitney). labels 0/1. Returns NaN when
 * either class is absent. */
double clf_auc(const double *score, const int *label, size_t n);

/* Area under the precision-recall curve (average precision, step-wise). */
double clf_pr_auc(const double *score, const int *label, size_t n);

/* Mean squared error of probabilities against labels. */
double clf_brier(const double *prob, const int *label, size_t n);

/* Confusion-derived figures at threshold t (score >= t is positive). */
struct clf_confusion {
	size_t tp, fp, tn, fn; /* counts */
	double precision;      /* tp / (tp + fp), 0 when undefined */
	double recall;         /* tp / (tp + fn), 0 when undefined */
	double f1;             /* harmonic mean, 0 when undefined */
};
void clf_confusion_at(const double *score, const int *label, size_t n, double t,
		      struct clf_confusion *out);

/*
 * Stratified fold assignment: fold[i] in 0..k-1, each class dealt round-robin
 * after a seeded shuffle (deterministic for a seed; xorshift, not rand()).
 * Returns 0 or BW_EINVAL (k < 2).
 */
int clf_stratified_folds(const int *label, size_t n, int k, uint64_t seed, int *fold);

/* Platt sigmoid P = 1 / (1 + exp(A f + B)) fitted by the Lin-Lin-Weng (2007)
 * Newton method with Platt's target smoothing. Deterministic. */
void clf_platt_fit(const double *dec, const int *label, size_t n, double *A, double *B);
double clf_platt_apply(double A, double B, double dec);

/*
 * L2-regularised logistic regression by Newton's method on d <= 16 inputs:
 * P = sigmoid(off_i + w . z + b), off_i = off[i] (a fixed offset per row;
 * off NULL = none). `lambda` is the ridge on w. Deterministic.
 * Returns 0 or BW_EINVAL.
 */
int clf_logreg_fit(const double *z, const int *label, const double *off, size_t n, size_t d,
		   double lambda, double *w, double *b);

/* Deterministic 64-bit generator (splitmix64 state step). */
uint64_t clf_rand_next(uint64_t *state);

/* ---- SVM sub-models (clf_svm.c) --------------------------------------------- */

struct svm_model;
struct clf_svm;

/* A libsvm model as a dense fast-predict structure. Linear kernels collapse
 * to one weight vector; RBF keeps dense SVs with precomputed squared norms.
 * Caller frees with clf_svm_free(). NULL on allocation failure or when the
 * model is not a 2-class C-SVC with linear or RBF kernel. */
struct clf_svm *clf_svm_from_libsvm(const struct svm_model *model, size_t dim, char *errstr,
				    size_t errlen);
void clf_svm_free(struct clf_svm *s);

/* Decision value for dense x[0..dim), oriented so that larger means label 1
 * (bot). Equals libsvm's svm_predict_values (sign-adjusted) to ~1e-9. */
double clf_svm_decision(const struct clf_svm *s, const double *x);

/* Weight vector of a linear model (dim entries, borrowed) and its bias, so
 * decision = sign * (w . x) + bias; NULL for RBF models. */
const double *clf_svm_linear(const struct clf_svm *s, double *bias, double *sign);

/* libsvm model text (the format of svm_save_model, %.17g) of a trained model;
 * malloc'd NUL-terminated, caller frees. NULL on allocation failure. */
char *clf_svm_model_text(const struct svm_model *model);

/* Parse libsvm model text (bounded, strict) into a fast-predict structure of
 * `dim` dense columns. NULL with errstr set on malformed input. */
struct clf_svm *clf_svm_parse(const char *text, size_t len, size_t dim, char *errstr,
			      size_t errlen);

/* ---- training (clf_train.c) ------------------------------------------------- */

enum clf_kernel { CLF_KERNEL_LINEAR = 0, CLF_KERNEL_RBF = 1 };

struct clf_train_opts {
	enum clf_kernel kernel; /* kernel of every SVM */
	int folds;              /* CV folds for grid search and calibration (>= 2) */
	uint64_t seed;          /* fold shuffling and subsampling seed */
	size_t max_rows;        /* cap on rows per SVM fit (stratified subsample); 0 = none */
	int min_class_rows;     /* fewer rows of a class than this: sub-model not trained */
	bool group_folds;       /* CV folds hold out whole bot classes (row_class) when there
				 * are at least `folds` of them, so C is chosen, and stacks are
				 * fitted, on bot kinds unseen in training; else stratified */
	bool source_folds;      /* CV folds hold out whole sources (dataset up to its first
				 * '/') when there are at least `folds` of them, and rows
				 * outside a fit's subsample get the decision of the fold
				 * model that did not see their source: stacks (the
				 * calibration) are fitted on out-of-source decisions
				 * (docs/MODEL.md, "Calibration that travels") */
	bool no_type_heads;     /* train only the overall head (no per-bot-type heads) */
	bool balance_sources;   /* a fit's subsample gives each source (dataset up to its
				 * first '/') an equal share of each class, up to its
				 * size, instead of a share proportional to its size */
	bool profile_rbf;       /* linear kernel: also fit an RBF twin of user_counts in the
				 * overall head; its stacks fit it on what the linear
				 * groups leave (docs/MODEL.md, "mixed kernel") */
	const char *schema_hash;/* feature registry hash stored in the model */
	int schema_version;     /* feature schema version stored in the model */
	json_t *meta;           /* borrowed; copied into the model's "training" object */
	void (*progress)(const char *msg, void *opaque); /* may be NULL */
	void *progress_opaque;  /* passed to progress */
};

/* Kernel option by name: "linear", "rbf", or "mixed" (linear, plus the RBF
 * twin of the profile counts group: profile_rbf). 0, or -1 for an unknown name. */
int clf_kernel_parse(const char *name, struct clf_train_opts *o);

/* Defaults: mixed (linear + the user_counts RBF twin), 5 folds, seed 1,
 * max_rows 4000, min_class_rows 10, stratified folds. */
void clf_train_opts_init(struct clf_train_opts *o);

/*
 * Train every sub-model, calibration and stack on `m` and serialise the
 * model document. On success *out is a malloc'd NUL-terminated document of
 * *out_len bytes (caller frees). Same inputs and options give the same bytes.
 */
int clf_train(const struct clf_matrix *m, const struct clf_train_opts *o, char **out,
	      size_t *out_len, char *errstr, size_t errlen);

/* ---- models and scoring (clf_model.c, clf_score.c) ------------------------------ */

struct clf_model;

/*
 * Parse a model document (bounded: refuses > 256 MiB). When `schema_hash` is
 * not NULL it must equal the model's feature_schema hash, and `n_features`
 * its column count, else BW_ESCHEMA with a message naming both hashes.
 * Caller frees with clf_model_free(). NULL with errstr set on error.
 */
struct clf_model *clf_model_parse(const char *buf, size_t len, const char *schema_hash,
				  size_t n_features, char *errstr, size_t errlen);
struct clf_model *clf_model_load(const char *path, const char *schema_hash,
				 size_t n_features, char *errstr, size_t errlen);
void clf_model_free(struct clf_model *mdl);

/* Model id: "sha256:<hex>" of the file bytes. Borrowed for the model's life. */
const char *clf_model_id(const struct clf_model *mdl);
/* Length of the feature vectors the model reads. */
size_t clf_model_n_features(const struct clf_model *mdl);
/* Feature schema hash the model was trained on. Borrowed. */
const char *clf_model_schema(const struct clf_model *mdl);
/* Number of bot types with raw scores; name of the i-th (borrowed). */
size_t clf_model_n_types(const struct clf_model *mdl);
const char *clf_model_type_name(const struct clf_model *mdl, size_t i);
/* The model's "training" metadata object (borrowed). */
const json_t *clf_model_training(const struct clf_model *mdl);

#define CLF_MAX_TYPES 32

enum clf_status {
	CLF_STATUS_OK = 0,          /* posts and profile */
	CLF_STATUS_PROFILE_ONLY,    /* no (or too few) posts: scored from the profile */
	CLF_STATUS_POSTS_ONLY,      /* posts but no profile fields: scored from activity */
	CLF_STATUS_INSUFFICIENT,    /* nothing computable: score null */
};

/* One account's score. NaN marks "not computable" (JSON null). */
struct clf_score {
	enum clf_status status;          /* see above */
	double english;                  /* calibrated overall, all classes */
	double universal;                /* calibrated overall, no content/sentiment */
	double cap_english;              /* P(bot | english score >= s) at the prior */
	double cap_universal;            /* same for universal */
	double categories[CLF_NCLASS];   /* per class, calibrated; NaN if not computable */
	size_t n_types;                  /* raw scores filled */
	double raw[CLF_MAX_TYPES];       /* per bot type (model type order); NaN if not computable */
	uint32_t avail;                  /* the availability mask used */
	int in_support;                  /* 1: every profile group the account has lies within
					  * the training profiles' support (RMS scaled value at
					  * most the training 99th percentile), 0: one does not,
					  * -1: unknown (no profile evidence, older model) */
};

/* Score dense x[0..n_features) (registry order) with availability `avail`.
 * `cap_prior` in (0,1). Thread-safe on a shared model. */
void clf_score(const struct clf_model *mdl, const double *x, uint32_t avail, double cap_prior,
	       struct clf_score *out);

/* Status name: "ok", "profile_only", "posts_only", "insufficient_data". */
const char *clf_status_name(enum clf_status st);

/* Identity and context of a score record (docs/SCORES.md). Strings borrowed. */
struct clf_record_info {
	const char *user_id;     /* account id (required) */
	const char *screen_name; /* latest handle or NULL */
	int64_t scored_at_ms;    /* event time the score refers to, or BW_TIME_NONE */
	uint64_t posts_seen;     /* authored posts folded in */
};

/* The score record as a JSON object (new reference, caller json_decref()s);
 * NULL on allocation failure. */
json_t *clf_score_to_json(const struct clf_model *mdl, const struct clf_score *sc,
			  const struct clf_record_info *info);

/* The score record as its one serialised text: the compact JSON line
 * `botwatch replay --out` writes, the store keeps and the scores topic carries
 * (doubles with 6 significant digits). The replay and the scoring stage both
 * write records through it, so the two paths give the same bytes. malloc'd
 * (caller frees); NULL on allocation failure. */
char *clf_score_record(const struct clf_model *mdl, const struct clf_score *sc,
		       const struct clf_record_info *info);

/* ---- explanations (clf_explain.c) -------------------------------------------------- */

/* One feature's part in a score. */
struct clf_contrib {
	size_t feature;      /* registry index (feat_def_get(feature)->name) */
	const char *group;   /* sub-model group ("user_counts", ...); static string */
	double value;        /* the raw feature value */
	double scaled;       /* what the SVM saw: clip((slog1p(value) - mean) / sd, -5, 5);
			      * 0 = the training population's mean; 1 for the
			      * "declaration" group (the account declares automation) */
	double contribution; /* log-odds added to the score's logit (see clf_explain) */
};

/* Contributions to one score of one account. */
struct clf_explanation {
	const char *stack;      /* score explained ("english", "universal", a class, a bot type); borrowed from the model */
	double score;           /* sigmoid(logit): equals the clf_score() value of that score */
	double logit;           /* log-odds of the score; NaN when nothing was computable */
	double bias;            /* logit minus the sum of contributions (the part at z = 0) */
	bool exact;             /* every group used is linear: bias + Σ contribution == logit */
	size_t n;               /* contributions */
	struct clf_contrib *c;  /* n entries, largest |contribution| first (owned; clf_explanation_free) */
};

/*
 * Per-feature contributions to the score `stack` (NULL = "english", the
 * overall score) of an account with features x[0..n_features) and
 * availability `avail`, over every column of the groups that score uses for
 * this availability (docs/MODEL.md, "Explanations").
 *
 * Linear groups: contribution = stack weight × SVM weight × scaled value, in
 * log-odds; exact: bias + Σ contributions = logit. RBF groups (the default
 * model's user_counts twin): the change of the stack's logit when the feature
 * alone is set to the population mean (scaled value 0) — an occlusion
 * estimate that need not sum to the logit (exact = false). Costs one
 * decision per RBF column. A column in a linear group and its RBF twin is
 * one entry holding both parts.
 * An account that declares automation (handle, name or bio words, platform
 * bot flag) gets one more contribution, group "declaration": the entry's
 * declaration log-likelihood ratio, credited to the first declaring column.
 *
 * Returns 0 (with out->n = 0 and logit NaN when nothing is computable),
 * BW_ENOENT (no score of that name) or BW_ENOMEM. Caller frees with
 * clf_explanation_free(). Thread-safe on a shared model.
 */
int clf_explain(const struct clf_model *mdl, const double *x, uint32_t avail, const char *stack,
		struct clf_explanation *out, char *errstr, size_t errlen);
/* Frees the contributions (not `e` itself); accepts NULL. */
void clf_explanation_free(struct clf_explanation *e);

/* ---- what-if: nearest flips and rule-style reasons (clf_whatif.c) ------------------- */

/* One single-feature change that moves the overall (english) score across a threshold. */
struct clf_flip {
	size_t feature;  /* registry index */
	double from;     /* its value now (NaN: masked) */
	double to;       /* the nearest value that flips the decision (verified by scoring) */
	double dz;       /* the change in scaled units (standard deviations of the signed log) */
	double score;    /* the english score at `to` */
};

/*
 * Up to `max` single-feature changes of x[0..n_features) (availability
 * `avail`, prior `cap_prior`) that move the english score across `threshold`
 * (in (0,1); score >= threshold is "bot"), the smallest |dz| first, into
 * out[0..*n). Candidates come from the model's linear weights; each is
 * verified and narrowed by re-scoring (clf_score), so RBF and clipped parts
 * are honoured. *n is 0 when nothing is computable. 0 or BW_ENOMEM.
 * Thread-safe on a shared model.
 */
int clf_nearest_flips(const struct clf_model *mdl, const double *x, uint32_t avail,
		      double cap_prior, double threshold, struct clf_flip *out, size_t max,
		      size_t *n, char *errstr, size_t errlen);

#define CLF_REASON_MAX 4

/* One condition of a reason: feature >= bound (at_least) or feature <= bound. */
struct clf_condition {
	size_t feature;  /* registry index */
	bool at_least;   /* >= (true) or <= */
	double bound;    /* the account's own value */
	double share;    /* estimated share of the training population meeting it */
};

/* A rule-style reason for a decision. */
struct clf_reason {
	bool bot;                                  /* the decision: english >= threshold */
	size_t n;                                  /* conditions */
	struct clf_condition c[CLF_REASON_MAX];    /* strongest first */
	bool holds;                                /* with only these (every other feature at the
						    * population mean) the decision stays */
	double score_alone;                        /* the english score in that case (NaN: none) */
	double share_all;                          /* product of the shares (independence assumed) */
};

/*
 * The fewest (<= CLF_REASON_MAX) conditions, taken in the order of
 * explanation `e` (clf_explain of the english score for the same x and
 * avail) among the features pushing toward the decision, that keep the
 * decision on its side of `threshold` when every other feature is at the
 * training population's mean. Shares are estimated from the model's scaler
 * (signed-log values taken as normal): the model carries no per-feature
 * distribution. 0 or BW_ENOMEM. Thread-safe on a shared model.
 */
int clf_reason(const struct clf_model *mdl, const double *x, uint32_t avail, double cap_prior,
	       double threshold, const struct clf_explanation *e, struct clf_reason *out,
	       char *errstr, size_t errlen);

/* ---- availability tracking (clf_avail.c) ---------------------------------------- */

struct bw_post;

/* Per-account evidence counters from which the CLF_AVAIL_* mask is derived. */
struct clf_avail_state {
	uint32_t seen;      /* CLF_AVAIL_TEXT / CLF_AVAIL_COUNTS bits observed */
	uint64_t posts;     /* authored posts (not profile snapshots or deletions) */
};

/* Fold one post authored by the account into the evidence. */
void clf_avail_update(struct clf_avail_state *st, const struct bw_post *post);
/* The mask: TEXT/COUNTS as seen, ACTIVITY when posts >= CLF_MIN_POSTS. */
uint32_t clf_avail_mask(const struct clf_avail_state *st);

/* ---- training baselines and the drift monitor (clf_drift.c, docs/DRIFT.md) ------ */

/*
 * The model file's "baselines" section: per feature (registry order) its
 * presence (share of rows on which it is computable and non-zero), the share
 * on which it is computable, its decile edges and the share of values per
 * bin; the english score's histogram over all rows, bots and humans, and the
 * bot rate at `threshold`. `mdl` is the model just trained on `m` (it scores
 * the rows). *out is a new reference. Deterministic for the same inputs.
 * Returns 0 or BW_ENOMEM.
 */
int clf_baselines_json(const struct clf_matrix *m, const struct clf_model *mdl, double threshold,
		       json_t **out, char *errstr, size_t errlen);
/* Does the model carry baselines (models trained before them do not)? */
bool clf_model_has_baselines(const struct clf_model *mdl);

/* Bounds a closed window is judged by (config drift.*). */
struct clf_drift_bounds {
	int64_t window_ms;     /* tumbling event-time window length */
	uint64_t min_scores;   /* a window with fewer observations is not evaluated */
	double feature_psi;    /* a feature's PSI above this counts as shifted */
	uint64_t features_over;/* alarm when more features than this are shifted */
	double class_psi;      /* alarm when a feature class's mean PSI is above this */
	double presence_shift; /* alarm when a feature's presence moves more than this */
	double score_psi;      /* alarm when the english score's PSI is above this */
	double bot_rate_min;   /* alarm when the share of scores >= threshold is below ... */
	double bot_rate_max;   /* ... or above these */
	double threshold;      /* score threshold of the bot rate */
};
/* The defaults (docs/CONFIG.md, drift.*). */
void clf_drift_bounds_init(struct clf_drift_bounds *b);

/*
 * A drift monitor over score decisions, for one thread. `mdl` is borrowed and
 * must outlive it. Without baselines in the model it observes nothing
 * (clf_drift_active() false). Caller frees with clf_drift_free(). NULL on
 * allocation failure.
 */
struct clf_drift;
struct clf_drift *clf_drift_new(const struct clf_model *mdl, const struct clf_drift_bounds *b);
void clf_drift_free(struct clf_drift *d);
bool clf_drift_active(const struct clf_drift *d);

/*
 * Observe one score decision: features x[0..n), availability, the score and
 * its event time (BW_TIME_NONE: counted as undated, not observed). When the
 * observation opens a window while DR_MAX_WINDOWS are open, the oldest is
 * closed and its report appended to `closed` (a JSON array, borrowed).
 * Returns 0 or BW_ENOMEM.
 */
int clf_drift_observe(struct clf_drift *d, const double *x, size_t n, uint32_t avail,
		      const struct clf_score *sc, int64_t event_ms, json_t *closed);
/*
 * Close the windows that ended a whole window before `watermark_ms` (every
 * open window when `all`), appending each one's report to `closed`, oldest
 * first. A report: {start, end, scores, scored, evaluated, alarm, reasons[],
 * classes{psi_mean}, features_over_psi, presence_shifted, top_psi[],
 * top_presence_shift[], score_psi, bot_rate, baseline_bot_rate,
 * mixture_bot_share, mixture_psi} (docs/DRIFT.md).
 */
void clf_drift_advance(struct clf_drift *d, int64_t watermark_ms, bool all, json_t *closed);
/* The open windows [{start, end, scores}] and the bounds with the late and
 * undated counts, as new references. */
json_t *clf_drift_open_json(const struct clf_drift *d);
json_t *clf_drift_bounds_json(const struct clf_drift *d);

#endif
