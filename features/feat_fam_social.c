/*
 * feat_fam_social.c — the friend and network families.
 *
 * friend: the accounts this account retweets, quotes, mentions and replies to
 * (from its own posts) and the accounts seen retweeting, quoting, replying to
 * and mentioning it (from other accounts' posts in the same input), with the
 * other account's profile as embedded in the post: its age at the interaction,
 * counts and ratios as distributions (one value per interaction), plus shares
 * and language mix. Absent profile values are skipped, not zero-filled.
 *
 * network: per account, six bounded co-occurrence graphs whose nodes are the
 * items one post names together (retweet: the retweeted account and accounts
 * mentioned in retweets; mention; reply; quote; hashtag; interaction: every
 * account a post names). Node weights are occurrences, edges join two items
 * named by the same post (first 8 items), edge weights count such posts. Top
 * 32 nodes and edges are kept by Space-Saving; node and edge totals past that
 * are 512-bit linear-counting estimates (docs/STATE.md).
 */
#include <stdlib.h>

#include "feat_int.h"

static const char *const role_names[FR__N] = {
	"retweeted", "quoted", "retweeted_by", "quoted_by", "replied_by", "mentioned_by",
	"mentioned", "replied_to",
};
static const char *const role_desc[FR__N] = {
	"accounts it retweets", "accounts it quotes", "accounts retweeting it",
	"accounts quoting it", "accounts replying to it", "accounts mentioning it",
	"accounts it mentions", "accounts it replies to",
};
static const char *const prop_names[FP__N] = {
	"age_days", "followers_count", "friends_count", "statuses_count", "favourites_count",
	"listed_count", "followers_friends_ratio", "screen_name_length", "description_length",
};
static const char *const prop_desc[FP__N] = {
	"account age in days at the interaction", "followers count", "friends count",
	"statuses count", "favourites count", "listed count",
	"followers / max(friends, 1)", "screen name length", "bio length in bytes",
};
static const enum feat_scale prop_scale[FP__N] = {
	SC_LOG4, SC_LOG4, SC_LOG4, SC_LOG4, SC_LOG4, SC_LOG4, SC_LOG4, SC_COUNT, SC_LOG4
};

enum { RS_INTERACTIONS, RS_DISTINCT, RS_TOP_SHARE, RS_ENTROPY, RS__N };
enum { RP_DEFAULT, RP_DEFAULT_IMG, RP_VERIFIED, RP_LANGS, RP_LANG_ENTROPY, RP_SAME_LANG, RP__N };

static const char *const graph_names[FG__N] = { "retweet", "mention", "reply",
						"quote",   "hashtag", "interaction" };
enum { GS_NODES, GS_EDGES, GS_DENSITY, GS_WEIGHT, GS_POST_SHARE, GS_TOP1, GS_TOP3, GS_HHI,
       GS_GINI, GS_ISOLATED, GS_MEAN_DEGREE, GS__N };
enum { GD_STRENGTH, GD_DEGREE, GD_EDGE_WEIGHT, GD__N };

static size_t prop_base[FR_PROFILED_N][FP__N]; /* first index of each role x property dist */
static size_t role_base[FR__N];                /* RS_* scalars */
static size_t rolep_base[FR_PROFILED_N];       /* RP_* scalars */
static size_t graph_base[FG__N];               /* GS_* scalars, then GD_* dists */

static void register_friend(void)
{
	char how[300];
	static const struct {
		const char *name, *desc, *how;
	} rs[RS__N] = {
		{ "interactions", "interactions", "posts in which the interaction was seen" },
		{ "distinct_accounts", "distinct accounts", "exact up to 32, then linear counting" },
		{ "top_account_share", "share of the most frequent account", "top count / interactions" },
		{ "account_entropy", "entropy of the accounts", "Shannon entropy (bits) of the top-32 counts" },
	}, rp[RP__N] = {
		{ "default_profile_share", "share with default_profile true", "true / interactions with a profile" },
		{ "default_profile_image_share", "share with the default avatar", "true / interactions with a profile" },
		{ "verified_share", "share verified", "true / interactions with a profile" },
		{ "languages", "distinct profile languages", "exact up to 32, then linear counting" },
		{ "language_entropy", "entropy of their profile languages", "Shannon entropy (bits)" },
		{ "same_language_share", "share with this account's profile language", "equal lang / interactions with a profile" },
	};
	char name[96], desc[160];

	for (int r = 0; r < FR_PROFILED_N; r++) {
		for (int p = 0; p < FP__N; p++) {
			snprintf(name, sizeof(name), "%s.%s", role_names[r], prop_names[p]);
			snprintf(desc, sizeof(desc), "%s of the %s", prop_desc[p], role_desc[r]);
			snprintf(how, sizeof(how),
				 "one value per interaction, from the other account's embedded profile, "
				 "absent values skipped; moment sketch, median and entropy from its %s",
				 feat_scale_doc(prop_scale[p]));
			prop_base[r][p] = feat_reg_dist(FEAT_FRIEND, true, name, desc, how);
		}
	}
	for (int r = 0; r < FR__N; r++) {
		for (int s = 0; s < RS__N; s++) {
			snprintf(name, sizeof(name), "%s.%s", role_names[r], rs[s].name);
			snprintf(desc, sizeof(desc), "%s: %s", role_desc[r], rs[s].desc);
			size_t i = feat_reg_scalar(FEAT_FRIEND, true, name,
						   desc, rs[s].how);
			if (s == 0)
				role_base[r] = i;
		}
	}
	for (int r = 0; r < FR_PROFILED_N; r++) {
		for (int s = 0; s < RP__N; s++) {
			snprintf(name, sizeof(name), "%s.%s", role_names[r], rp[s].name);
			snprintf(desc, sizeof(desc), "%s: %s", role_desc[r], rp[s].desc);
			size_t i = feat_reg_scalar(FEAT_FRIEND, true, name,
						   desc, rp[s].how);
			if (s == 0)
				rolep_base[r] = i;
		}
	}
}

static void register_network(void)
{
	static const struct {
		const char *name, *desc, *how;
	} gs[GS__N] = {
		{ "nodes", "distinct nodes", "exact up to 32, then linear counting" },
		{ "edges", "distinct co-occurrence edges", "exact up to 32, then linear counting" },
		{ "density", "edge density", "2E / (N (N - 1)), 0 when N < 2, at most 1" },
		{ "total_weight", "node occurrences", "sum of node weights" },
		{ "post_share", "share of posts contributing a node", "posts with a node / posts" },
		{ "top1_share", "weight share of the heaviest node", "top weight / total weight" },
		{ "top3_share", "weight share of the 3 heaviest nodes", "top-3 weight / total weight" },
		{ "hhi", "concentration (Herfindahl index)", "sum of squared weight shares of the top-32 nodes" },
		{ "gini", "inequality of node weights", "Gini coefficient of the top-32 node weights" },
		{ "isolated_share", "share of nodes without a co-occurrence edge", "top-32 nodes of degree 0 / top-32 nodes" },
		{ "mean_degree", "mean degree", "2E / N, 0 when N = 0" },
	}, gd[GD__N] = {
		{ "node_strength", "node weights", "top-32 nodes' occurrence counts" },
		{ "node_degree", "node degrees", "distinct co-occurring nodes of each top-32 node" },
		{ "edge_weight", "edge weights", "top-32 edges' co-occurrence counts" },
	};
	char name[96], desc[160];

	for (int g = 0; g < FG__N; g++) {
		for (int s = 0; s < GS__N; s++) {
			snprintf(name, sizeof(name), "%s.%s", graph_names[g], gs[s].name);
			snprintf(desc, sizeof(desc), "%s graph: %s", graph_names[g], gs[s].desc);
			size_t i = feat_reg_scalar(FEAT_NETWORK, true, name,
						   desc, gs[s].how);
			if (s == 0)
				graph_base[g] = i;
		}
		for (int s = 0; s < GD__N; s++) {
			snprintf(name, sizeof(name), "%s.%s", graph_names[g], gd[s].name);
			snprintf(desc, sizeof(desc), "%s graph: %s", graph_names[g], gd[s].desc);
			feat_reg_dist(FEAT_NETWORK, true, name, desc,
				      gd[s].how);
		}
	}
}

void feat_fam_social_register(void)
{
	register_friend();
	register_network();
}

static double ratio(double x, double y)
{
	return y > 0 ? x / y : 0.0;
}

static void extract_role(const struct feat_role *ro, int r, double *out)
{
	double c[FEAT_TOPK];
	size_t n;

	if (!ro)
		return;
	for (int p = 0; r < FR_PROFILED_N && p < FP__N; p++)
		feat_sketch_stats(&ro->props[p], prop_scale[p], out + prop_base[r][p]);
	out[role_base[r] + RS_INTERACTIONS] = (double)ro->interactions;
	out[role_base[r] + RS_DISTINCT] = feat_topk_distinct(&ro->accounts);
	n = feat_topk_counts(&ro->accounts, c);
	out[role_base[r] + RS_TOP_SHARE] = n ? ratio(c[0], (double)ro->accounts.total) : 0;
	out[role_base[r] + RS_ENTROPY] = feat_topk_entropy(&ro->accounts);
	if (r >= FR_PROFILED_N)
		return;
	out[rolep_base[r] + RP_DEFAULT] = ratio((double)ro->n_default, (double)ro->n_profiles);
	out[rolep_base[r] + RP_DEFAULT_IMG] = ratio((double)ro->n_default_img, (double)ro->n_profiles);
	out[rolep_base[r] + RP_VERIFIED] = ratio((double)ro->n_verified, (double)ro->n_profiles);
	out[rolep_base[r] + RP_LANGS] = feat_topk_distinct(&ro->langs);
	out[rolep_base[r] + RP_LANG_ENTROPY] = feat_topk_entropy(&ro->langs);
	out[rolep_base[r] + RP_SAME_LANG] = ratio((double)ro->n_same_lang, (double)ro->n_profiles);
}

static double gini(const double *desc_sorted, size_t n)
{
	double sum = 0, acc = 0;

	if (n < 2)
		return 0;
	/* ascending order is desc_sorted reversed: G = sum (2i - n - 1) x_i / (n sum) */
	for (size_t i = 0; i < n; i++) {
		double x = desc_sorted[n - 1 - i];
		sum += x;
		acc += (2.0 * (double)(i + 1) - (double)n - 1.0) * x;
	}
	return sum > 0 ? acc / ((double)n * sum) : 0.0;
}

static void extract_graph(const struct feat_account *a, const struct feat_graph *gr, int g,
			  double *out)
{
	double c[FEAT_TOPK], deg[FEAT_TOPK], ew[FEAT_TOPK], total, N, E, hhi = 0, iso = 0;
	double *o = out + graph_base[g];
	size_t n;

	if (!gr)
		return;
	N = feat_topk_distinct(&gr->nodes);
	E = feat_topk_distinct(&gr->edges);
	total = (double)gr->nodes.total;
	n = feat_topk_counts(&gr->nodes, c);
	o[GS_NODES] = N;
	o[GS_EDGES] = E;
	o[GS_DENSITY] = N > 1 ? 2 * E / (N * (N - 1)) : 0;
	if (o[GS_DENSITY] > 1)
		o[GS_DENSITY] = 1;
	o[GS_WEIGHT] = total;
	o[GS_POST_SHARE] = ratio((double)gr->posts, (double)a->posts);
	o[GS_TOP1] = n ? ratio(c[0], total) : 0;
	o[GS_TOP3] = ratio((n > 0 ? c[0] : 0) + (n > 1 ? c[1] : 0) + (n > 2 ? c[2] : 0), total);
	for (size_t i = 0; i < n; i++)
		hhi += ratio(c[i], total) * ratio(c[i], total);
	o[GS_HHI] = hhi;
	o[GS_GINI] = gini(c, n);
	for (size_t i = 0; i < gr->nodes.n; i++) {
		long d = feat_topk_find(&gr->degree, gr->nodes.e[i].key);
		deg[i] = d > 0 ? (double)d : 0;
		iso += deg[i] == 0;
	}
	o[GS_ISOLATED] = ratio(iso, (double)gr->nodes.n);
	o[GS_MEAN_DEGREE] = N > 0 ? 2 * E / N : 0;
	o += GS__N;
	feat_array_stats(c, n, SC_LOG4, o + GD_STRENGTH * ST__N);
	feat_array_stats(deg, gr->nodes.n, SC_COUNT, o + GD_DEGREE * ST__N);
	size_t ne = feat_topk_counts(&gr->edges, ew);
	feat_array_stats(ew, ne, SC_LOG4, o + GD_EDGE_WEIGHT * ST__N);
}

void feat_fam_social_extract(const struct feat_account *a, int64_t probe_ms, double *out)
{
	(void)probe_ms;
	for (int r = 0; r < FR__N; r++)
		extract_role(a->roles[r], r, out);
	for (int g = 0; g < FG__N; g++)
		extract_graph(a, a->graphs[g], g, out);
}
