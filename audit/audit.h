/*
 * audit.h — the audit trail above the store and the classifier
 * (docs/AUDIT.md): registering the model a scorer uses, appending each score
 * decision with its vector and watermark, listing an account's decisions and
 * re-performing one with its archived model and vector.
 *
 * The scorers (`botwatch replay --store`, the scoring stage) call
 * audit_model_register() once and audit_decision_put() for every record they
 * put, in the same store transaction. `botwatch models|history|rescore` and
 * the API's /v1/models, /v1/accounts/{id}/history and /audit read it back.
 *
 * Ownership: JSON results are new references the caller json_decref()s;
 * every other pointer is borrowed. Library code: never logs or exits.
 */
#ifndef BW_AUDIT_H
#define BW_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct bw_store;
struct bw_store_txn;
struct clf_model;
struct clf_score;
struct clf_record_info;

/*
 * Register `mdl`, loaded from the file `path`, in the store's model registry:
 * the file is read again and must still hash to clf_model_id(mdl). A model
 * already registered is left as it is. Commits its own write transaction:
 * never call it while this thread holds one open on the same store (LMDB has
 * one writer). 0 or a BW_E* code with errstr set.
 */
int audit_model_register(struct bw_store *st, const struct clf_model *mdl, const char *path,
			 char *errstr, size_t errlen);

/* Where the input of a decision stood (fields unknown: "", -1). */
struct audit_watermark {
	const char *last_post_id; /* last post folded in, or NULL */
	const char *topic;        /* Kafka topic of the input, or NULL (no Kafka) */
	int32_t partition;        /* its partition, -1 */
	int64_t offset;           /* its offset, -1 */
};

/*
 * Append the decision behind score record `record` (the exact text stored):
 * model `mdl`, vector x[0..n), evidence `avail`, prior `cap_prior`, score
 * `sc`, the record's identity `info` (its scored_at_ms is the event-time
 * watermark) and watermark `wm` (may be NULL), scored now (wall clock).
 * In the caller's write transaction. 0 or a BW_E* code with errstr set.
 */
int audit_decision_put(struct bw_store_txn *txn, const struct clf_model *mdl, const double *x,
		       size_t n, uint32_t avail, double cap_prior, const struct clf_score *sc,
		       const struct clf_record_info *info, const struct audit_watermark *wm,
		       const char *record, char *errstr, size_t errlen);

/* The registered models as a JSON array (id, bytes, registered_at, schema,
 * params, training). 0 or a BW_E* code. */
int audit_models_json(struct bw_store *st, json_t **out);

/* A registered model parsed (caller frees with clf_model_free()); NULL with
 * errstr (BW_ENOENT in *err when it is not registered). */
struct clf_model *audit_model_load(struct bw_store *st, const char *model_id, int *err,
				   char *errstr, size_t errlen);

/* An account's decisions, oldest first, as {"user_id", "decisions": [...]}.
 * 0 (an account without decisions has an empty list), BW_EINVAL, BW_ESTORE. */
int audit_history_json(struct bw_store *st, const char *user_id, json_t **out);

/* Which decision to re-perform, and with what. */
struct audit_rescore_opts {
	int64_t at_ms;                  /* the decision in force then (latest scored_at <= at), or
					 * INT64_MIN for the latest */
	const char *model_id;           /* re-score with this registered model instead, or NULL */
	const struct clf_model *loaded; /* a model already loaded, used when its id is the one
					 * needed (saves parsing the registry copy); may be NULL */
	size_t top;                     /* feature differences listed with another model */
};

/*
 * Re-perform a stored decision of `user_id`: its archived vector scored by its
 * archived model (or opts->model_id) with its evidence and prior, the record
 * rebuilt and compared byte for byte (sha256) and the scores bit for bit.
 * *out: {"result": "identical"|"different", "decision": {...}, "rescored":
 * {...}, ...}; with another model also "differences": per feature, the
 * contribution under each model. 0, or BW_ENOENT (no such account or
 * decision, or model) / BW_ESTORE / BW_ESCHEMA / BW_ENOMEM with errstr set.
 */
int audit_rescore(struct bw_store *st, const char *user_id, const struct audit_rescore_opts *opts,
		  json_t **out, char *errstr, size_t errlen);

/* Called for each decision re-performed by audit_rescore_all(): `result` is
 * the same JSON audit_rescore() answers (borrowed for the call). Non-zero stops. */
typedef int (*audit_each_cb)(const char *user_id, const json_t *result, void *opaque);

/*
 * Re-perform every decision of every account in the store with its archived
 * model (each model parsed once; opts->loaded reused when it is one of them),
 * counting *same and *different; `cb` (may be NULL) sees each result.
 * 0, the callback's value, or a BW_E* code with errstr set.
 */
int audit_rescore_all(struct bw_store *st, const struct audit_rescore_opts *opts,
		      uint64_t *same, uint64_t *different, audit_each_cb cb, void *opaque,
		      char *errstr, size_t errlen);

#endif
